"""C2PA validation status codes, grouped by what they mean for a verdict.

The codes are c2pa's own (C2PA spec §15, "Validation"); the groups are ours.
"""

from __future__ import annotations

# Hard-binding failures: the bytes no longer match what was signed
CONTENT_HASH_MISMATCH_CODES = frozenset(
    {
        "assertion.dataHash.mismatch",
        "assertion.bmffHash.mismatch",
        "assertion.boxesHash.mismatch",
        "assertion.collectionHash.mismatch",
    }
)
CONTENT_HASH_MATCH_CODES = frozenset(code.replace(".mismatch", ".match") for code in CONTENT_HASH_MISMATCH_CODES)
# Failures that mean the manifest or asset was altered after signing (not merely an unknown or
# expired signer): a broken claim signature, a changed or missing assertion, changed content.
TAMPER_CODES = CONTENT_HASH_MISMATCH_CODES | {
    "claimSignature.mismatch",
    "claimSignature.missing",
    "assertion.hashedURI.mismatch",
    "assertion.hashedURI.missing",
    "assertion.missing",
    "assertion.notRedacted",
    "assertion.selfRedacted",
    "claim.missing",
    "claim.multiple",
    "claim.hardBindings.missing",
    "ingredient.manifest.mismatch",
    "ingredient.claimSignature.mismatch",
    "ingredient.claimSignature.missing",
    "com.originframe.manifestStore.multiple",  # see manifest.MULTIPLE_STORES_CODE
}
# c2pa left parts of the file out of the hash beyond the manifest itself (free/skip boxes by
# default): whatever sits there can change without a mismatch.
ADDITIONAL_EXCLUSION_CODES = frozenset(
    {
        "assertion.bmffHash.additionalExclusionsPresent",
        "assertion.dataHash.additionalExclusionsPresent",
        "assertion.boxesHash.additionalExclusionsPresent",
    }
)
# The signer's certificate was not valid when checked: with a trusted RFC 3161 timestamp c2pa
# checks it at the stamped time instead of now.
OUTSIDE_VALIDITY_CODES = frozenset({"claimSignature.outsideValidity", "signingCredential.expired"})


def is_tamper_code(code: str) -> bool:
    """A code that says something was altered after signing."""
    return code in TAMPER_CODES or code.endswith(".mismatch")
