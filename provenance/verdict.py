"""The verdict: what the evidence supports, in one word and a few sentences.

Precedence (first row that applies wins; docs/provenance.md has the same table):

1. the manifest changed after signing (claim, content or ingredient history) -> ``tampered``
2. our own trusted manifest -> ``generated_here``
3. our watermark, with an identifier that names a generation in our records -> ``generated_here``
   (a caller with no records to consult gets the identifier itself as the binding)
4. another party's manifest, signature intact, declaring AI generation -> ``generated_elsewhere_ai``
   (a resemblance never overrides it)
5. Stability's fixed reference mark -> ``generated_elsewhere_ai``
6. our watermark whose identifier names no generation we hold, a fingerprint resemblance, or a
   match with the *input image* of an image-to-video generation -> ``resembles_generated_here``
7. nothing -> ``no_evidence``

``generated_here`` is said only on evidence that binds to one generation (a signed manifest, or
a watermark that carries its identifier). A fingerprint says "looks like": a copy with its marks
removed looks like the generation, and so does the real footage an image-to-video clip was made
from, or the next second of the same shot.
"""

from __future__ import annotations

import enum

import msgspec

from provenance.fingerprint import STILL_MATCH_THRESHOLD
from provenance.manifest import ManifestReport
from provenance.manifest_explanation import CHANGE_CAUSES, ManifestExplanation, ManifestState


class Verdict(enum.StrEnum):
    GENERATED_HERE = "generated_here"
    RESEMBLES_GENERATED_HERE = "resembles_generated_here"
    GENERATED_ELSEWHERE_AI = "generated_elsewhere_ai"
    TAMPERED = "tampered"
    NO_EVIDENCE = "no_evidence"


class EvidenceKind(enum.StrEnum):
    MANIFEST = "manifest"
    WATERMARK = "watermark"
    FINGERPRINT = "fingerprint"
    INPUT_IMAGE = "input_image"  # the fingerprint matched an image-to-video generation's input
    REFERENCE_WATERMARK = "reference_watermark"


class WatermarkFinding(msgspec.Struct, kw_only=True, frozen=True):
    detected: bool
    p_value: float
    threshold_p_value: float
    identifier: str | None
    generation_id: str | None  # what the identifier names in our records (None: unknown or not looked up)
    # False when no records were consulted (a library caller without a lookup): the identifier
    # itself, verified under our key, is then the binding
    identifier_checked: bool = True


class ResemblanceFinding(msgspec.Struct, kw_only=True, frozen=True):
    generation_id: str
    distance: float
    threshold: float
    of_input_image: bool  # matched the generation's input image, not its motion
    input_image_distance: float | None = None  # frames' distance to that input image (when it matched)
    query_range_s: tuple[float, float] | None
    generation_range_s: tuple[float, float] | None


class Outcome(msgspec.Struct, kw_only=True, frozen=True):
    verdict: Verdict
    strongest_evidence: EvidenceKind | None
    generation_id: str | None  # the generation the deciding evidence names
    summary: str


def _signer(manifest: ManifestReport) -> str:
    return manifest.signer.common_name if manifest.signer and manifest.signer.common_name else "an unnamed signer"


def _range(span: tuple[float, float] | None) -> str:
    return f"{span[0]:.1f}–{span[1]:.1f} s" if span else "?"


def _resemblance_sentence(found: ResemblanceFinding) -> str:
    if found.of_input_image:
        close = (
            f" (distance to the input image {found.input_image_distance:g} ≤ {STILL_MATCH_THRESHOLD:g})"
            if found.input_image_distance is not None
            else ""
        )
        return (
            f"The frames match the input image of generation {found.generation_id}, not the motion the model "
            f"added to it{close}: this may be the real footage or photograph that image came "
            "from. A resemblance is not proof that this service made it."
        )
    where = ""
    if found.query_range_s and found.generation_range_s:
        where = f", frames {_range(found.query_range_s)} of this file against {_range(found.generation_range_s)} of the generation"
    return (
        f"The frames look like generation {found.generation_id} of this service (fingerprint distance "
        f"{found.distance:g} ≤ {found.threshold:g}{where}). It may be a copy with its marks removed, or the real "
        "footage it was made from: a resemblance is not proof that this service made it."
    )


def decide(
    manifest: ManifestReport | None,
    explanation: ManifestExplanation,
    ours: bool,
    watermark: WatermarkFinding,
    reference_detected: bool,
    resemblance: ResemblanceFinding | None,
) -> Outcome:
    """Apply the precedence table to the findings; the summary says only what they support."""
    outcome = _decide(manifest, explanation, ours, watermark, reference_detected, resemblance)
    if manifest is None or not manifest.present:
        return outcome
    summary = outcome.summary
    if (
        outcome.verdict is Verdict.GENERATED_ELSEWHERE_AI
        and outcome.strongest_evidence is EvidenceKind.MANIFEST
        and manifest.ai_evidence
    ):
        # where in the history the AI declaration sits (the file's own manifest, or an ingredient's)
        first = manifest.ai_evidence[0]
        where = (
            "its own manifest" if first.relationship == "active" else f"the {first.relationship} ingredient's manifest"
        )
        by = f" ({first.claim_generator or first.signer})" if (first.claim_generator or first.signer) else ""
        summary += f" Declared by {first.action or 'the ingredient'} in {where}{by}: {first.wording}."
    if manifest.history_tampered:
        altered = ", ".join(
            sorted({code for failure in manifest.history_failures if failure.tampered for code in failure.codes})
        )
        summary += f" The history was tampered with: an ingredient's Content Credentials were altered ({altered})."
    return msgspec.structs.replace(outcome, summary=summary)


def _decide(
    manifest: ManifestReport | None,
    explanation: ManifestExplanation,
    ours: bool,
    watermark: WatermarkFinding,
    reference_detected: bool,
    resemblance: ResemblanceFinding | None,
) -> Outcome:
    present = manifest is not None and manifest.present
    # what the manifest says when it is not the deciding evidence, so no summary hides it
    manifest_note = "" if not present or ours else f" Content Credentials: {explanation.headline}"
    reference_note = (
        " Stability AI's fixed reference watermark is also present (a mark of SVD/SDXL output)."
        if reference_detected
        else ""
    )

    def resemblance_note(deciding_generation: str | None) -> str:
        if resemblance is None or resemblance.generation_id == deciding_generation:
            return ""
        return f" The frames also resemble generation {resemblance.generation_id} of this service."

    if present and manifest is not None and (manifest.tampered or explanation.state is ManifestState.CHANGED):
        causes = " ".join(dict.fromkeys(cause.sentence for cause in explanation.causes if cause.cause in CHANGE_CAUSES))
        if not causes:  # the reader flagged a change this module has no sentence for: name its codes
            causes = f"The C2PA reader reports it altered ({', '.join(manifest.failure_codes) or 'no code given'})."
        also = ""
        if watermark.detected and watermark.generation_id:
            also = f" This service's watermark is still in the frames (generation {watermark.generation_id})."
        elif resemblance is not None:
            also = f" The frames also resemble generation {resemblance.generation_id} of this service."
        return Outcome(
            verdict=Verdict.TAMPERED,
            strongest_evidence=EvidenceKind.MANIFEST,
            generation_id=watermark.generation_id if watermark.detected else None,
            summary=f"The file's Content Credentials no longer match it. {causes}{also}{reference_note}",
        )
    if ours:
        assert manifest is not None and manifest.generation is not None
        return Outcome(
            verdict=Verdict.GENERATED_HERE,
            strongest_evidence=EvidenceKind.MANIFEST,
            generation_id=manifest.generation.generation_id,
            summary=(
                "Trusted Content Credentials signed by this service describe this file's generation "
                f"({manifest.generation.generation_id})."
            ),
        )
    if watermark.detected and not watermark.identifier_checked:
        return Outcome(
            verdict=Verdict.GENERATED_HERE,
            strongest_evidence=EvidenceKind.WATERMARK,
            generation_id=None,
            summary=(
                f"This service's watermark is in the frames (p-value {watermark.p_value:.1e}, threshold "
                f"{watermark.threshold_p_value:.0e}) carrying identifier {watermark.identifier}; no "
                f"generation records were consulted to name it.{manifest_note}{reference_note}"
            ),
        )
    if watermark.detected and watermark.generation_id:
        return Outcome(
            verdict=Verdict.GENERATED_HERE,
            strongest_evidence=EvidenceKind.WATERMARK,
            generation_id=watermark.generation_id,
            summary=(
                f"This service's watermark is in the frames (p-value {watermark.p_value:.1e}, threshold "
                f"{watermark.threshold_p_value:.0e}) and its identifier {watermark.identifier} names "
                f"generation {watermark.generation_id}.{manifest_note}{reference_note}"
                f"{resemblance_note(watermark.generation_id)}"
            ),
        )
    if present and manifest is not None and manifest.ai_generated and manifest.signature_valid is not False:
        also = ""
        if resemblance is not None:
            also = (
                f" The frames also resemble generation {resemblance.generation_id} of this service; a resemblance "
                "does not outweigh another party's signed declaration."
            )
        return Outcome(
            verdict=Verdict.GENERATED_ELSEWHERE_AI,
            strongest_evidence=EvidenceKind.MANIFEST,
            generation_id=None,
            summary=(
                f"Content Credentials signed by {_signer(manifest)} declare this AI-generated media. "
                f"{explanation.headline}{also}{reference_note}"
            ),
        )
    if reference_detected:
        return Outcome(
            verdict=Verdict.GENERATED_ELSEWHERE_AI,
            strongest_evidence=EvidenceKind.REFERENCE_WATERMARK,
            generation_id=None,
            summary=(
                "The fixed invisible watermark that Stability AI's reference code stamps on SVD/SDXL output "
                f"is present.{manifest_note}{resemblance_note(None)}"
            ),
        )
    if watermark.detected:
        return Outcome(
            verdict=Verdict.RESEMBLES_GENERATED_HERE,
            strongest_evidence=EvidenceKind.WATERMARK,
            generation_id=None,
            summary=(
                f"The frames carry this service's watermark (p-value {watermark.p_value:.1e}), but its "
                f"identifier {watermark.identifier} names no generation in this service's records, so it "
                f"cannot be tied to one.{manifest_note}{reference_note}{resemblance_note(None)}"
            ),
        )
    if resemblance is not None:
        kind = EvidenceKind.INPUT_IMAGE if resemblance.of_input_image else EvidenceKind.FINGERPRINT
        return Outcome(
            verdict=Verdict.RESEMBLES_GENERATED_HERE,
            strongest_evidence=kind,
            generation_id=resemblance.generation_id,
            summary=_resemblance_sentence(resemblance) + manifest_note,
        )
    # (a reference mark with a resemblance is decided above: generated elsewhere)
    return Outcome(
        verdict=Verdict.NO_EVIDENCE,
        strongest_evidence=None,
        generation_id=None,
        summary=(
            "No evidence that this was generated here or by a declared AI generator. Absence of evidence proves nothing "
            f"about where it came from: marks and metadata can be removed.{manifest_note}"
        ),
    )
