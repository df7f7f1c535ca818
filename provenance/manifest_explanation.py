"""What a C2PA manifest's state means, in plain sentences a newsroom can quote.

The explanation is derived from the validation status codes only -- the codes c2pa reported,
each mapped to one cause and one sentence -- so a sentence can never contradict the codes shown
beside it. A manifest that fails because of its *credential* (unknown, expired or revoked signer,
an untrusted timestamp) is never called tampered: the bytes it signed may be exactly as signed.
Only a changed claim, changed content or a broken ingredient history speak of change.

The page, the JSON report and the CLI all print this structure; none of them words the manifest
state on its own.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence

import msgspec
from cryptography import x509
from cryptography.x509.oid import NameOID

from provenance.manifest import ManifestReport
from provenance.status_codes import (
    ADDITIONAL_EXCLUSION_CODES,
    CONTENT_HASH_MISMATCH_CODES,
    OUTSIDE_VALIDITY_CODES,
    is_tamper_code,
)
from provenance.trust import TrustConfiguration


class ManifestCause(enum.StrEnum):
    CLAIM_CHANGED = "claim_changed"
    CONTENT_CHANGED = "content_changed"
    FILE_STRUCTURE_CHANGED = "file_structure_changed"
    INGREDIENT_TAMPERED = "ingredient_tampered"
    SIGNER_UNTRUSTED = "signer_untrusted"
    CERTIFICATE_EXPIRED = "certificate_expired"
    CERTIFICATE_REVOKED = "certificate_revoked"
    CERTIFICATE_INVALID = "certificate_invalid"
    TIMESTAMP_UNTRUSTED = "timestamp_untrusted"
    TIMESTAMP_INVALID = "timestamp_invalid"
    REVOCATION_NOT_CHECKED = "revocation_not_checked"
    OTHER = "other"


class ManifestState(enum.StrEnum):
    """The one-word state a reader sees first."""

    ABSENT = "absent"  # no manifest in the file
    TRUSTED = "trusted"  # intact, signer on a trust list configured here
    UNTRUSTED = "untrusted"  # intact, signer not on any trust list configured here
    CREDENTIAL_PROBLEM = "credential_problem"  # intact as far as the codes say, but the credential does not hold
    CHANGED = "changed"  # claim, content or ingredient history changed after signing


# causes that say something changed after signing; every other cause is about who signed, or when
CHANGE_CAUSES = frozenset(
    {
        ManifestCause.CLAIM_CHANGED,
        ManifestCause.CONTENT_CHANGED,
        ManifestCause.FILE_STRUCTURE_CHANGED,
        ManifestCause.INGREDIENT_TAMPERED,
    }
)

_CLAIM_CODES = frozenset(
    {
        "claimSignature.mismatch",
        "claimSignature.missing",
        "assertion.hashedURI.mismatch",
        "assertion.hashedURI.missing",
        "assertion.missing",
        "assertion.notRedacted",
        "assertion.selfRedacted",
        "assertion.cbor.invalid",
        "assertion.json.invalid",
        "claim.missing",
        "claim.multiple",
        "claim.hardBindings.missing",
        "claim.cbor.invalid",
    }
)
_INGREDIENT_PREFIX = "ingredient."


class CauseExplanation(msgspec.Struct, kw_only=True, frozen=True):
    code: str  # the status code exactly as c2pa reported it
    cause: ManifestCause
    sentence: str
    informational: bool = False  # c2pa listed it as information, not as a failure


class ManifestExplanation(msgspec.Struct, kw_only=True, frozen=True):
    state: ManifestState
    headline: str  # one sentence: what the state means
    causes: list[CauseExplanation]
    trust_lists: list[str]  # the roots this verifier trusts (subjects), as configured


class TrustList(msgspec.Struct, kw_only=True, frozen=True):
    """The roots a verification trusted: this service's own, and any extra configured anchors."""

    own_roots: list[str]
    other_roots: list[str]

    def describe(self) -> str:
        parts = []
        if self.own_roots:
            parts.append(
                "this service's own root" + ("s " if len(self.own_roots) > 1 else " ") + _names(self.own_roots)
            )
        if len(self.other_roots) > _NAMED_ROOTS:  # a published trust list: its size, not every name
            parts.append(f"the {len(self.other_roots)} roots of the configured trust lists")
        elif self.other_roots:
            parts.append("the configured trust anchors " + _names(self.other_roots))
        if not parts:
            return "no trust list is configured here"
        return "the only roots trusted here are " + " and ".join(parts)

    def subjects(self) -> list[str]:
        return [*self.own_roots, *self.other_roots]


_NAMED_ROOTS = 4


def _names(names: Sequence[str]) -> str:
    return ", ".join(f"“{name}”" for name in names)


def trust_list(
    trust_anchors_pem: str | None, own_roots_pem: str | None, trust: TrustConfiguration | None = None
) -> TrustList:
    """Subjects of the roots a reading trusted; ``own_roots_pem`` is the subset that is this
    service's own, ``trust`` the configured signer trust lists (the C2PA list, extra anchors)."""
    own = _subjects(own_roots_pem)
    every = _subjects(trust_anchors_pem) + _subjects(trust.signer_anchors_pem if trust else None)
    return TrustList(own_roots=own, other_roots=list(dict.fromkeys(name for name in every if name not in own)))


def _subjects(pem: str | None) -> list[str]:
    if not pem or not pem.strip():
        return []
    try:
        certificates = x509.load_pem_x509_certificates(pem.encode())
    except ValueError:
        return []
    names = []
    for certificate in certificates:
        common = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        name = str(common[0].value) if common else certificate.subject.rfc4514_string()
        if name not in names:
            names.append(name)
    return names


def _cause(code: str, explanation: str | None, trust: TrustList, timestamp_trusted: bool) -> CauseExplanation:
    if code in CONTENT_HASH_MISMATCH_CODES or (code.startswith("assertion.") and code.endswith("Hash.mismatch")):
        return CauseExplanation(
            code=code,
            cause=ManifestCause.CONTENT_CHANGED,
            sentence=(
                "The content changed after signing: the pictures or sound no longer match the hash the signer recorded."
            ),
        )
    if code in OUTSIDE_VALIDITY_CODES and code != "signingCredential.expired":
        return CauseExplanation(
            code=code,
            cause=ManifestCause.CERTIFICATE_EXPIRED,
            sentence=(
                "The signature was made outside the signing certificate's validity period. That is about the "
                "credential, not the content."
            ),
        )
    if code in ADDITIONAL_EXCLUSION_CODES or code.endswith("Hash.additionalExclusionsPresent"):
        return CauseExplanation(
            code=code,
            cause=ManifestCause.OTHER,
            sentence=(
                "Some parts of the file are left out of the signed content hash (the signer declared extra exclusions)."
            ),
        )
    if code in _CLAIM_CODES or code.startswith("claimSignature."):
        return CauseExplanation(
            code=code,
            cause=ManifestCause.CLAIM_CHANGED,
            sentence=(
                "The manifest itself changed after signing: its signed claim or one of its assertions no longer "
                "matches the signature."
            ),
        )
    if code.startswith("com.originframe."):
        return CauseExplanation(
            code=code,
            cause=ManifestCause.FILE_STRUCTURE_CHANGED,
            sentence=("The file's structure was changed after signing (" + (explanation or code) + ")."),
        )
    if code.startswith(_INGREDIENT_PREFIX):
        return CauseExplanation(
            code=code,
            cause=ManifestCause.INGREDIENT_TAMPERED,
            sentence=(
                "The history it cites does not hold: an ingredient (a file it was made from) no longer matches "
                "what the manifest recorded about it."
            ),
        )
    if code == "signingCredential.untrusted":
        return CauseExplanation(
            code=code,
            cause=ManifestCause.SIGNER_UNTRUSTED,
            sentence=(
                "The signer is not trusted here: its certificate does not chain to a root on this verifier's trust "
                f"list ({trust.describe()}), so the signer's name is only what its certificate claims."
            ),
        )
    if code == "signingCredential.expired":
        when = (
            ""
            if timestamp_trusted
            else ", and no trusted timestamp shows that the signature was made while it was still valid"
        )
        return CauseExplanation(
            code=code,
            cause=ManifestCause.CERTIFICATE_EXPIRED,
            sentence=(f"The signing certificate has expired{when}. That is about the credential, not the content."),
        )
    if code == "signingCredential.revoked":
        return CauseExplanation(
            code=code,
            cause=ManifestCause.CERTIFICATE_REVOKED,
            sentence=("The signing certificate was revoked by its issuer, which no longer vouches for this signer."),
        )
    if code.startswith("signingCredential.ocsp.") or code == "signingCredential.ocsp.skipped":
        return CauseExplanation(
            code=code,
            cause=ManifestCause.REVOCATION_NOT_CHECKED,
            sentence=("Whether the certificate was revoked was not checked: this verifier does not go online."),
        )
    if code.startswith("signingCredential.") or code.startswith("algorithm."):
        return CauseExplanation(
            code=code,
            cause=ManifestCause.CERTIFICATE_INVALID,
            sentence=("The signing certificate is not usable for C2PA signing (" + (explanation or code) + ")."),
        )
    if code == "timeStamp.untrusted":
        return CauseExplanation(
            code=code,
            cause=ManifestCause.TIMESTAMP_UNTRUSTED,
            sentence=(
                "The signing time is not established: its timestamp comes from an authority this verifier does not trust."
            ),
        )
    if code.startswith("timeStamp."):
        return CauseExplanation(
            code=code,
            cause=ManifestCause.TIMESTAMP_INVALID,
            sentence=(
                "The timestamp does not validate ("
                + (explanation or code)
                + "), so the signing time is not established."
            ),
        )
    if is_tamper_code(code):
        return CauseExplanation(
            code=code,
            cause=ManifestCause.CLAIM_CHANGED,
            sentence=("The manifest or what it covers changed after signing (" + (explanation or code) + ")."),
        )
    return CauseExplanation(
        code=code,
        cause=ManifestCause.OTHER,
        sentence=(f"The C2PA reader reported “{code}”" + (f": {explanation}." if explanation else ".")),
    )


def explain_manifest(manifest: ManifestReport | None, trust: TrustList) -> ManifestExplanation:
    """One sentence per reported cause, and a headline that follows from those causes alone."""
    if manifest is None or not manifest.present:
        return ManifestExplanation(
            state=ManifestState.ABSENT,
            headline=("The file carries no Content Credentials; they are often stripped by re-encoding or uploads."),
            causes=[],
            trust_lists=trust.subjects(),
        )
    explanations = {entry.code: entry.explanation for entry in manifest.failures}
    timestamp_trusted = (
        "timeStamp.validated" in manifest.success_codes and "timeStamp.untrusted" not in manifest.failure_codes
    )
    failures = list(dict.fromkeys(manifest.failure_codes))
    causes = [_cause(code, explanations.get(code), trust, timestamp_trusted) for code in failures]
    causes += [
        _cause(code, None, trust, timestamp_trusted)
        for code in dict.fromkeys(manifest.ingredient_failure_codes)
        if code not in failures and code.startswith(_INGREDIENT_PREFIX)
    ]
    kinds = {cause.cause for cause in causes}  # only the file's own failures decide the state
    history = [
        cause
        for failure in manifest.history_failures
        if failure.tampered
        for cause in (
            CauseExplanation(
                code=code,
                cause=ManifestCause.INGREDIENT_TAMPERED,
                sentence=(
                    f"The history it cites does not hold: the Content Credentials of the ingredient "
                    f"“{failure.ingredient or 'untitled'}” were altered."
                ),
            )
            for code in failure.codes
        )
        if cause.code not in failures
    ]
    causes += history
    causes += [
        msgspec.structs.replace(_cause(code, None, trust, timestamp_trusted), informational=True)
        for code in dict.fromkeys(manifest.informational_codes)
        if code not in failures
    ]
    changed = kinds & CHANGE_CAUSES
    problems = kinds - CHANGE_CAUSES - {ManifestCause.REVOCATION_NOT_CHECKED, ManifestCause.SIGNER_UNTRUSTED}
    if changed:
        what = " and ".join(
            part
            for cause, part in (
                (ManifestCause.CONTENT_CHANGED, "the content"),
                (ManifestCause.CLAIM_CHANGED, "the manifest"),
                (ManifestCause.INGREDIENT_TAMPERED, "the ingredient history"),
            )
            if cause in changed
        )
        return ManifestExplanation(
            state=ManifestState.CHANGED,
            headline=(
                f"Changed after signing: {what} no longer match{'es' if ' and ' not in what else ''} what was signed."
            ),
            causes=causes,
            trust_lists=trust.subjects(),
        )
    history_note = " An ingredient's own Content Credentials were altered (see the causes)." if history else ""
    if problems:
        return ManifestExplanation(
            state=ManifestState.CREDENTIAL_PROBLEM,
            headline=(
                "Nothing in the status codes says the file or its manifest changed after signing; the manifest fails "
                "because of the signer's credential (see the causes)." + history_note
            ),
            causes=causes,
            trust_lists=trust.subjects(),
        )
    if ManifestCause.SIGNER_UNTRUSTED in kinds or not manifest.trusted:
        return ManifestExplanation(
            state=ManifestState.UNTRUSTED,
            headline=(
                "The signature and the content hash are intact, but the signer is not on a trust list configured here."
                + history_note
            ),
            causes=causes,
            trust_lists=trust.subjects(),
        )
    return ManifestExplanation(
        state=ManifestState.TRUSTED,
        headline=(
            "The signature and the content hash are intact, and the signer chains to a root trusted here."
            + history_note
        ),
        causes=causes,
        trust_lists=trust.subjects(),
    )
