"""The verify banner for every combination of evidence a real file can produce, as a Markdown table.

docs/web.md holds the output; tests/provenance/test_verdict.py checks the document still says
what the code says. Regenerate with ``python -m tests.provenance.verdict_table``.
"""

from __future__ import annotations

import itertools

from provenance.manifest import (
    TRAINED_ALGORITHMIC_MEDIA,
    GenerationAssertion,
    ManifestReport,
    SignerInfo,
    ValidationEntry,
)
from provenance.manifest_explanation import TrustList, explain_manifest
from provenance.verdict import ResemblanceFinding, WatermarkFinding, decide

# the page's banner headings (service/web/static/js/verify.js, VERDICTS)
HEADINGS = {
    "generated_here": "Generated here",
    "resembles_generated_here": "Resembles a clip generated here",
    "generated_elsewhere_ai": "AI-generated elsewhere",
    "tampered": "Tampered",
    "no_evidence": "No evidence",
}
TRUST = TrustList(own_roots=["Originframe Development Root"], other_roots=[])


def _manifest(
    failures: tuple[str, ...], *, state: str, ours: bool = False, signer: str = "Elsewhere Labs Generator"
) -> ManifestReport:
    return ManifestReport(
        present=True,
        validation_state=state,
        trusted=state == "Trusted",
        signature_valid=not any(code.startswith("claimSignature.") for code in failures),
        tampered=any(code.endswith(".mismatch") for code in failures),
        failures=[ValidationEntry(code=code) for code in failures],
        failure_codes=list(failures),
        success_codes=["claimSignature.validated"]
        + ([] if "assertion.bmffHash.mismatch" in failures else ["assertion.bmffHash.match"]),
        signer=SignerInfo(issuer=None, common_name=signer, algorithm="es256", certificate_serial_number=None),
        digital_source_type=TRAINED_ALGORITHMIC_MEDIA,
        ai_generated=True,
        generation=GenerationAssertion(
            generation_id="G",
            model_id="tiny",
            model_version="1",
            parameters_digest="0",
            policy_version="p",
            decision_id="d",
        )
        if ours
        else None,
    )


MANIFESTS = {
    "none": None,
    "ours, trusted": _manifest((), state="Trusted", ours=True, signer="Originframe Development Signer"),
    "another's AI claim, signer untrusted": _manifest(("signingCredential.untrusted",), state="Valid"),
    "another's AI claim, certificate expired": _manifest(
        ("signingCredential.untrusted", "signingCredential.expired"), state="Invalid"
    ),
    "content changed after signing": _manifest(("assertion.bmffHash.mismatch",), state="Invalid"),
}
WATERMARKS = {
    "no": WatermarkFinding(detected=False, p_value=1.0, threshold_p_value=1e-6, identifier=None, generation_id=None),
    "ours, identifier of G": WatermarkFinding(
        detected=True, p_value=1e-12, threshold_p_value=1e-6, identifier="00000000000000ab", generation_id="G"
    ),
}
FINGERPRINTS = {
    "no": None,
    "resembles R": ResemblanceFinding(
        generation_id="R",
        distance=1.5,
        threshold=5.0,
        of_input_image=False,
        query_range_s=(0.0, 1.0),
        generation_range_s=(0.0, 1.0),
    ),
}


def rows() -> list[tuple[str, str, str, str, str, str, str]]:
    out = []
    for (m_name, manifest), (w_name, watermark), (f_name, fingerprint), reference in itertools.product(
        MANIFESTS.items(), WATERMARKS.items(), FINGERPRINTS.items(), (False, True)
    ):
        ours = m_name == "ours, trusted"
        outcome = decide(manifest, explain_manifest(manifest, TRUST), ours, watermark, reference, fingerprint)
        out.append(
            (
                m_name,
                w_name,
                f_name,
                "yes" if reference else "no",
                f"`{outcome.verdict.value}`",
                HEADINGS[outcome.verdict.value],
                outcome.summary,
            )
        )
    return out


# the two findings outside the matrix, each alone
EXTRA = (
    (
        "none",
        "ours, identifier unknown",
        WatermarkFinding(
            detected=True, p_value=1e-9, threshold_p_value=1e-6, identifier="0000000000000fff", generation_id=None
        ),
        "no",
        None,
    ),
    (
        "none",
        "no",
        WATERMARKS["no"],
        "input image of R",
        ResemblanceFinding(
            generation_id="R",
            distance=9.0,
            threshold=5.0,
            of_input_image=True,
            query_range_s=None,
            generation_range_s=None,
            input_image_distance=1.2,
        ),
    ),
)


def extra_rows() -> list[tuple[str, ...]]:
    out = []
    for m_name, w_name, watermark, f_name, fingerprint in EXTRA:
        outcome = decide(None, explain_manifest(None, TRUST), False, watermark, False, fingerprint)
        out.append(
            (
                m_name,
                w_name,
                f_name,
                "no",
                f"`{outcome.verdict.value}`",
                HEADINGS[outcome.verdict.value],
                outcome.summary,
            )
        )
    return out


def markdown() -> str:
    lines = [
        "| manifest | watermark | fingerprint | SD mark | verdict | banner | summary |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows() + extra_rows()]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(markdown(), end="")
