"""Each row of the verdict precedence table (docs/provenance.md), and what its summary may say."""

from __future__ import annotations

import pytest

from provenance.manifest import TRAINED_ALGORITHMIC_MEDIA, GenerationAssertion, ManifestReport, SignerInfo
from provenance.manifest_explanation import TrustList, explain_manifest
from provenance.verdict import EvidenceKind, ResemblanceFinding, Verdict, WatermarkFinding, decide

TRUST = TrustList(own_roots=["Originframe Development Root"], other_roots=[])
NO_MARK = WatermarkFinding(detected=False, p_value=0.4, threshold_p_value=1e-6, identifier=None, generation_id=None)
OUR_MARK = WatermarkFinding(
    detected=True, p_value=1e-12, threshold_p_value=1e-6, identifier="00ab", generation_id="gen-1"
)
UNKNOWN_MARK = WatermarkFinding(
    detected=True, p_value=1e-9, threshold_p_value=1e-6, identifier="0fff", generation_id=None
)
RESEMBLES = ResemblanceFinding(
    generation_id="gen-2",
    distance=1.5,
    threshold=5.0,
    of_input_image=False,
    query_range_s=(0.0, 0.96),
    generation_range_s=(0.0, 0.96),
)
INPUT = ResemblanceFinding(
    generation_id="gen-3",
    distance=9.0,
    threshold=5.0,
    of_input_image=True,
    query_range_s=None,
    generation_range_s=None,
    input_image_distance=1.2,
)


def _manifest(
    *,
    failures=(),
    success=("claimSignature.validated", "assertion.bmffHash.match"),
    ai=True,
    ours=False,
    state="Valid",
    signer="Elsewhere Labs Generator",
) -> ManifestReport:
    from provenance.manifest import ValidationEntry

    return ManifestReport(
        present=True,
        validation_state=state,
        trusted=state == "Trusted",
        signature_valid="claimSignature.validated" in success
        and not any(c.startswith("claimSignature.") for c in failures),
        tampered=any(c.endswith(".mismatch") for c in failures),
        failures=[ValidationEntry(code=c) for c in failures],
        failure_codes=list(failures),
        success_codes=list(success),
        signer=SignerInfo(issuer=None, common_name=signer, algorithm="es256", certificate_serial_number=None),
        digital_source_type=TRAINED_ALGORITHMIC_MEDIA if ai else None,
        ai_generated=ai,
        generation=GenerationAssertion(
            generation_id="gen-1",
            model_id="tiny",
            model_version="1",
            parameters_digest="0",
            policy_version="p",
            decision_id="d",
        )
        if ours
        else None,
    )


FOREIGN_AI = _manifest(failures=("signingCredential.untrusted",))
FOREIGN_EXPIRED = _manifest(failures=("signingCredential.untrusted", "signingCredential.expired"), state="Invalid")
OURS = _manifest(state="Trusted", ours=True, signer="Originframe Development Signer")
CHANGED = _manifest(failures=("assertion.bmffHash.mismatch",), state="Invalid")
CAPTURED = _manifest(failures=("signingCredential.untrusted",), ai=False, signer="A Camera")


def _decide(manifest=None, *, ours=False, watermark=NO_MARK, reference=False, resemblance=None):
    return decide(manifest, explain_manifest(manifest, TRUST), ours, watermark, reference, resemblance)


# row -> (findings, verdict, strongest evidence)
ROWS = {
    "1 changed manifest, our watermark still there": (
        dict(manifest=CHANGED, watermark=OUR_MARK),
        Verdict.TAMPERED,
        EvidenceKind.MANIFEST,
    ),
    "2 our trusted manifest": (
        dict(manifest=OURS, ours=True, resemblance=RESEMBLES),
        Verdict.GENERATED_HERE,
        EvidenceKind.MANIFEST,
    ),
    "3 our watermark naming a generation": (
        dict(watermark=OUR_MARK, resemblance=RESEMBLES),
        Verdict.GENERATED_HERE,
        EvidenceKind.WATERMARK,
    ),
    "3 our watermark outranks a foreign manifest": (
        dict(manifest=FOREIGN_AI, watermark=OUR_MARK),
        Verdict.GENERATED_HERE,
        EvidenceKind.WATERMARK,
    ),
    "4 foreign AI manifest over a resemblance": (
        dict(manifest=FOREIGN_AI, resemblance=RESEMBLES),
        Verdict.GENERATED_ELSEWHERE_AI,
        EvidenceKind.MANIFEST,
    ),
    "4 foreign AI manifest, expired certificate": (
        dict(manifest=FOREIGN_EXPIRED, resemblance=RESEMBLES),
        Verdict.GENERATED_ELSEWHERE_AI,
        EvidenceKind.MANIFEST,
    ),
    "5 reference mark over a resemblance": (
        dict(reference=True, resemblance=RESEMBLES),
        Verdict.GENERATED_ELSEWHERE_AI,
        EvidenceKind.REFERENCE_WATERMARK,
    ),
    "6 our watermark, unknown identifier": (
        dict(watermark=UNKNOWN_MARK),
        Verdict.RESEMBLES_GENERATED_HERE,
        EvidenceKind.WATERMARK,
    ),
    "6 fingerprint resemblance": (
        dict(resemblance=RESEMBLES),
        Verdict.RESEMBLES_GENERATED_HERE,
        EvidenceKind.FINGERPRINT,
    ),
    "6 input image of an image-to-video generation": (
        dict(resemblance=INPUT),
        Verdict.RESEMBLES_GENERATED_HERE,
        EvidenceKind.INPUT_IMAGE,
    ),
    "6 resemblance beside a camera's manifest": (
        dict(manifest=CAPTURED, resemblance=RESEMBLES),
        Verdict.RESEMBLES_GENERATED_HERE,
        EvidenceKind.FINGERPRINT,
    ),
    "7 nothing": (dict(), Verdict.NO_EVIDENCE, None),
    "7 a camera's manifest alone": (dict(manifest=CAPTURED), Verdict.NO_EVIDENCE, None),
}


@pytest.mark.parametrize("row", list(ROWS))
def test_precedence_row(row):
    findings, verdict, strongest = ROWS[row]
    outcome = _decide(**findings)
    assert (outcome.verdict, outcome.strongest_evidence) == (verdict, strongest), outcome.summary
    if verdict is Verdict.RESEMBLES_GENERATED_HERE:  # never worded as a finding of origin
        assert "cannot be tied" in outcome.summary or "not proof" in outcome.summary


def test_without_records_to_consult_the_watermark_identifier_is_the_binding():
    unchecked = WatermarkFinding(
        detected=True,
        p_value=1e-12,
        threshold_p_value=1e-6,
        identifier="00ab",
        generation_id=None,
        identifier_checked=False,
    )
    outcome = _decide(watermark=unchecked)
    assert outcome.verdict is Verdict.GENERATED_HERE and outcome.generation_id is None
    assert "00ab" in outcome.summary and "no generation records were consulted" in outcome.summary


def test_generated_here_names_the_generation_the_evidence_binds_to():
    assert _decide(watermark=OUR_MARK).generation_id == "gen-1"
    assert _decide(manifest=OURS, ours=True).generation_id == "gen-1"


def test_a_resemblance_names_its_generation_and_ranges_and_says_it_is_not_proof():
    outcome = _decide(resemblance=RESEMBLES)
    assert outcome.generation_id == "gen-2"
    assert "gen-2" in outcome.summary and "0.0–1.0 s" in outcome.summary and "not proof" in outcome.summary
    assert "real footage" in outcome.summary


def test_an_input_image_match_says_it_is_the_input_not_the_motion():
    summary = _decide(resemblance=INPUT).summary
    assert "input image of generation gen-3" in summary and "not the motion" in summary
    assert (
        "distance to the input image 1.2 ≤ 3" in summary and "9" not in summary
    )  # the motion's distance is not the claim


def test_a_foreign_manifest_summary_mentions_the_resemblance_without_yielding_to_it():
    summary = _decide(manifest=FOREIGN_AI, resemblance=RESEMBLES).summary
    assert summary.startswith("Content Credentials signed by Elsewhere Labs Generator declare this AI-generated media.")
    assert "gen-2" in summary and "does not outweigh" in summary


def test_an_expired_foreign_credential_is_not_called_tampering():
    summary = _decide(manifest=FOREIGN_EXPIRED).summary.lower()
    assert "tamper" not in summary and "altered" not in summary and "credential" in summary


def test_a_changed_manifest_summary_gives_the_cause_and_the_watermark():
    outcome = _decide(manifest=CHANGED, watermark=OUR_MARK)
    assert "content changed after signing" in outcome.summary.lower() and "gen-1" in outcome.summary
    assert outcome.generation_id == "gen-1"


def test_every_verdict_is_reachable():
    assert {row[1] for row in ROWS.values()} == set(Verdict)


def test_the_banner_table_in_the_docs_is_what_the_code_says():
    from pathlib import Path

    from tests.provenance.verdict_table import markdown

    document = (Path(__file__).resolve().parents[2] / "docs" / "web.md").read_text()
    assert markdown() in document, "run `python -m tests.provenance.verdict_table` and paste it into docs/web.md"
