"""The manifest's state in plain sentences, on files a second, foreign CA signs in the test."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from skimage import data as photos

from provenance.manifest import read_manifest
from provenance.manifest_explanation import ManifestCause, ManifestState, explain_manifest, trust_list
from provenance.media import encode_mp4_bytes
from tests.foreign_ca import change_claim, change_content, foreign_signer, sign_foreign


@pytest.fixture(scope="module")
def clip() -> bytes:
    image = photos.chelsea()[:256, :384]
    return encode_mp4_bytes(np.stack([np.roll(image, 4 * i, axis=1) for i in range(12)]), fps=8, crf=23)


@pytest.fixture(scope="module")
def elsewhere():
    return foreign_signer("Elsewhere Labs")


@pytest.fixture(scope="module")
def expired_file(clip):
    signer = foreign_signer("Old Labs", valid_for=dt.timedelta(seconds=2))
    signed = sign_foreign(clip, "video/mp4", signer)
    signer.wait_until_expired()  # c2pa signs only with a valid certificate: let it expire after signing
    return signed


def _explain(data: bytes, anchors: str | None = None):
    report = read_manifest(data, "video/mp4", anchors)
    return report, explain_manifest(report, trust_list(anchors, None))


def _failure_causes(explanation) -> set[ManifestCause]:
    return {cause.cause for cause in explanation.causes if not cause.informational}


def test_an_untrusted_signer_is_named_as_the_only_problem_with_the_trust_lists(clip, elsewhere):
    report, explanation = _explain(sign_foreign(clip, "video/mp4", elsewhere))
    assert report.failure_codes == ["signingCredential.untrusted"]
    assert explanation.state is ManifestState.UNTRUSTED and _failure_causes(explanation) == {
        ManifestCause.SIGNER_UNTRUSTED
    }
    sentence = next(c.sentence for c in explanation.causes if c.cause is ManifestCause.SIGNER_UNTRUSTED)
    assert "no trust list is configured here" in sentence
    assert "changed" not in explanation.headline and "tamper" not in explanation.headline.lower()


def test_the_trust_list_sentence_names_the_configured_roots(clip, elsewhere):
    other = foreign_signer("Someone Else")
    _report, explanation = _explain(sign_foreign(clip, "video/mp4", elsewhere), other.root_pem)
    sentence = next(c.sentence for c in explanation.causes if c.cause is ManifestCause.SIGNER_UNTRUSTED)
    assert "“Someone Else Test Root”" in sentence and explanation.trust_lists == ["Someone Else Test Root"]


def test_a_trusted_foreign_root_reads_trusted(clip, elsewhere):
    report, explanation = _explain(sign_foreign(clip, "video/mp4", elsewhere), elsewhere.root_pem)
    assert report.validation_state == "Trusted" and explanation.state is ManifestState.TRUSTED


def test_an_expired_certificate_is_a_credential_problem_never_a_change(expired_file):
    report, explanation = _explain(expired_file)
    assert report.validation_state == "Invalid" and "signingCredential.expired" in report.failure_codes
    assert explanation.state is ManifestState.CREDENTIAL_PROBLEM
    assert ManifestCause.CERTIFICATE_EXPIRED in _failure_causes(explanation)
    assert not _failure_causes(explanation) & {ManifestCause.CONTENT_CHANGED, ManifestCause.CLAIM_CHANGED}
    expired = next(c.sentence for c in explanation.causes if c.cause is ManifestCause.CERTIFICATE_EXPIRED)
    assert "no trusted timestamp" in expired
    every = " ".join([explanation.headline, *(c.sentence for c in explanation.causes)]).lower()
    assert "tamper" not in every and "altered" not in every


def test_changed_content_is_said_to_be_the_content(clip, elsewhere):
    report, explanation = _explain(change_content(sign_foreign(clip, "video/mp4", elsewhere)))
    assert "assertion.bmffHash.mismatch" in report.failure_codes
    assert explanation.state is ManifestState.CHANGED and ManifestCause.CONTENT_CHANGED in _failure_causes(explanation)
    assert ManifestCause.CLAIM_CHANGED not in _failure_causes(explanation)
    assert explanation.headline.startswith("Changed after signing: the content")


def test_a_changed_claim_is_said_to_be_the_manifest(clip, elsewhere):
    report, explanation = _explain(change_claim(sign_foreign(clip, "video/mp4", elsewhere)))
    assert "claimSignature.mismatch" in report.failure_codes
    assert explanation.state is ManifestState.CHANGED and ManifestCause.CLAIM_CHANGED in _failure_causes(explanation)
    assert ManifestCause.CONTENT_CHANGED not in _failure_causes(explanation)
    assert "the manifest no longer matches" in explanation.headline


def test_every_reported_code_gets_exactly_one_sentence(clip, elsewhere, expired_file):
    for data in (
        sign_foreign(clip, "video/mp4", elsewhere),
        expired_file,
        change_content(sign_foreign(clip, "video/mp4", elsewhere)),
    ):
        report, explanation = _explain(data)
        codes = [c.code for c in explanation.causes]
        assert sorted(codes) == sorted(set(report.failure_codes) | set(report.informational_codes))
        assert all(c.sentence.endswith(".") for c in explanation.causes)


def test_no_manifest_is_absent():
    _, explanation = _explain(encode_mp4_bytes(np.full((4, 96, 96, 3), 100, np.uint8), fps=8))
    assert explanation.state is ManifestState.ABSENT and explanation.causes == []


def _report(failures: list[str], **fields):
    from provenance.manifest import ManifestReport, ValidationEntry

    return ManifestReport(
        present=True,
        validation_state="Invalid",
        failures=[ValidationEntry(code=c) for c in failures],
        failure_codes=failures,
        **fields,
    )


def test_signing_outside_the_certificate_validity_is_a_credential_problem():
    explanation = explain_manifest(_report(["claimSignature.outsideValidity"]), trust_list(None, None))
    assert explanation.state is ManifestState.CREDENTIAL_PROBLEM
    assert _failure_causes(explanation) == {ManifestCause.CERTIFICATE_EXPIRED}


def test_a_second_manifest_store_is_a_change_of_the_file_structure():
    from provenance.manifest import MULTIPLE_STORES_CODE

    explanation = explain_manifest(_report([MULTIPLE_STORES_CODE]), trust_list(None, None))
    assert explanation.state is ManifestState.CHANGED
    assert _failure_causes(explanation) == {ManifestCause.FILE_STRUCTURE_CHANGED}


def test_an_altered_ingredient_is_its_own_cause_beside_an_intact_manifest():
    from provenance.history import HistoryFailure

    failure = HistoryFailure(
        ingredient="parent.jpg",
        manifest="urn:x",
        relationship="parentOf",
        codes=["assertion.dataHash.mismatch"],
        tampered=True,
    )
    report = _report(["signingCredential.untrusted"], history_failures=[failure], history_tampered=True)
    explanation = explain_manifest(report, trust_list(None, None))
    assert explanation.state is ManifestState.UNTRUSTED  # the file's own manifest is intact
    history = [c for c in explanation.causes if c.cause is ManifestCause.INGREDIENT_TAMPERED]
    assert [c.code for c in history] == ["assertion.dataHash.mismatch"] and "“parent.jpg”" in history[0].sentence
    assert "ingredient's own Content Credentials were altered" in explanation.headline
