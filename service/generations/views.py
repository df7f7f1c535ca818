"""The public view of a generation: what its owner sees when polling, listing or streaming."""

from __future__ import annotations

from msgspec import UNSET, UnsetType

from service.api_types import (
    DecisionIds,
    GenerationError,
    GenerationLinks,
    GenerationOutput,
    GenerationProgress,
    GenerationView,
    WatermarkAssignment,
)
from service.db import Generation
from service.generations.status import GenerationStatus


def links(generation: Generation, base: str = "") -> GenerationLinks:
    root = f"{base}/v1/generations/{generation.id}"
    return GenerationLinks(self_=root, events=f"{root}/events", video=f"{root}/video", cancel=f"{root}/cancel")


def view(generation: Generation, base: str = "", waiting: str | None = None) -> GenerationView:
    """`waiting`: why a queued job is not running yet (no live worker serves its model), from the
    worker registry."""
    status = GenerationStatus(generation.status)
    total = generation.progress_total or 0
    step = generation.progress_step or 0
    percent = 100.0 if status == GenerationStatus.SUCCEEDED else (round(100.0 * step / total, 1) if total else 0.0)
    output: GenerationOutput | UnsetType = UNSET
    if status == GenerationStatus.SUCCEEDED:
        recorded = generation.output or {}
        output = GenerationOutput(
            frames=recorded.get("frames", 0),
            width=recorded.get("width", 0),
            height=recorded.get("height", 0),
            fps=recorded.get("fps", 0),
            bytes=generation.video_bytes,
            sha256=generation.video_sha256,
            content_type="video/mp4",
        )
    return GenerationView(
        id=generation.id,
        status=status,
        model=generation.model,
        mode=generation.mode,
        progress=GenerationProgress(stage=generation.stage, step=step, total=total, percent=percent),
        parameters={k: v for k, v in (generation.parameters or {}).items() if k != "seed_requested"},
        prompt=generation.prompt,
        prompt_sha256=generation.prompt_sha256,
        negative_prompt=generation.negative_prompt,
        input_image_sha256=generation.input_image_sha256,
        created_at=generation.created_at.isoformat(),
        started_at=generation.started_at.isoformat() if generation.started_at else None,
        finished_at=generation.finished_at.isoformat() if generation.finished_at else None,
        attempts=generation.attempts,
        timings=generation.timings or {},
        stages=generation.stages or {},
        error=GenerationError(generation.error_code, generation.error_reason) if generation.error_reason else None,
        links=links(generation, base),
        waiting=waiting if status == GenerationStatus.QUEUED and waiting else UNSET,
        output=output,
        watermark=(
            WatermarkAssignment(f"{generation.watermark_id:016x}", generation.watermark_key_id)
            if generation.watermark_id is not None
            else UNSET
        ),
        decisions=(
            DecisionIds(generation.input_decision_id, generation.output_decision_id)
            if generation.input_decision_id or generation.output_decision_id
            else UNSET
        ),
    )
