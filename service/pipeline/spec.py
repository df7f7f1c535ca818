"""The job a worker runs: the resolved request and what the flow's stages need to know about it,
read from the generation's record (and its stored input image)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from service.backends import Backend, GenerationInput
from service.db import Generation
from service.generations.status import Decision, StageName
from service.storage import Storage


@dataclass(frozen=True)
class JobContext:
    """What was decided before the job was queued, and which weights the job runs on."""

    api_key_id: str | None = None
    input_decision_id: str | None = None
    input_decision: Decision | None = None
    policy_version: str | None = None
    parameters: dict[str, Any] = field(default_factory=dict)  # as recorded (seed_requested included)
    input_image: bytes | None = None  # the stored upload (image-to-video), as the client sent it
    model_source: str | None = None  # hub id or directory of the weights this mode runs on
    model_version: str | None = None
    output_settings: dict[str, Any] | None = None  # speed settings that shaped the pixels (for the manifest)


@dataclass
class JobSpec:
    generation_id: str
    model: str
    request: GenerationInput
    watermark_id: int | None = None
    context: JobContext = field(default_factory=JobContext)
    stages: dict[str, Any] = field(default_factory=dict)  # the record's stages so far (screen_inputs)

    @property
    def fps(self) -> int:
        """The clip's frame rate (resolution always fills it in)."""
        if self.request.fps is None:
            raise ValueError(f"generation {self.generation_id} has no fps")
        return self.request.fps


def load_spec(
    session: Session, generation: Generation, *, backends: dict[str, Backend], storage: Storage, model_revision: str
) -> JobSpec:
    """The job of a recorded generation: its parameters, its decoded input image, its weights."""
    request = GenerationInput(
        prompt=generation.prompt,
        negative_prompt=generation.negative_prompt,
        **{k: v for k, v in generation.parameters.items() if k != "seed_requested"},
    )
    input_image = None
    if generation.input_image_key:
        from provenance.media import load_image

        input_image = storage.get(generation.input_image_key)
        request.image = load_image(input_image)
    info = backends[generation.model].info()
    screened = (generation.stages or {}).get(StageName.SCREEN_INPUTS, {})
    decision = screened.get("decision")
    return JobSpec(
        generation_id=generation.id,
        model=generation.model,
        request=request,
        watermark_id=generation.watermark_id,
        stages=dict(generation.stages or {}),
        context=JobContext(
            api_key_id=generation.api_key_id,
            input_decision_id=generation.input_decision_id,
            input_decision=Decision(decision) if decision else None,
            policy_version=screened.get("policy_version"),
            parameters=dict(generation.parameters or {}),
            input_image=input_image,
            # the weights this mode runs on, when a backend has one model per mode (wan, hunyuan)
            model_source=info.extra.get("sources", {}).get(request.mode, info.source),
            model_version=info.extra.get("version") or model_revision or "default",
            output_settings=info.extra.get("speed", {}).get("output"),
        ),
    )
