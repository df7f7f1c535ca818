"""The public JSON of a generation: what its owner sees when polling, listing or streaming."""

from __future__ import annotations

from typing import Any

from service.db import Generation
from service.generations.status import GenerationStatus


def links(generation: Generation, base: str = "") -> dict[str, str]:
    root = f"{base}/v1/generations/{generation.id}"
    return {"self": root, "events": f"{root}/events", "video": f"{root}/video", "cancel": f"{root}/cancel"}


def view(generation: Generation, base: str = "", waiting: str | None = None) -> dict[str, Any]:
    """The public JSON of a generation (what its owner sees). `waiting`: why a queued job is not
    running yet (no live worker serves its model), from the worker registry."""
    total = generation.progress_total or 0
    step = generation.progress_step or 0
    parameters = {k: v for k, v in (generation.parameters or {}).items() if k != "seed_requested"}
    body: dict[str, Any] = {
        "id": generation.id,
        "status": generation.status,
        "model": generation.model,
        "mode": generation.mode,
        "progress": {
            "stage": generation.stage,
            "step": step,
            "total": total,
            "percent": 100.0 if generation.status == GenerationStatus.SUCCEEDED else (round(100.0 * step / total, 1) if total else 0.0),
        },
        "parameters": parameters,
        "prompt": generation.prompt,
        "prompt_sha256": generation.prompt_sha256,
        "negative_prompt": generation.negative_prompt,
        "input_image_sha256": generation.input_image_sha256,
        "created_at": generation.created_at.isoformat(),
        "started_at": generation.started_at.isoformat() if generation.started_at else None,
        "finished_at": generation.finished_at.isoformat() if generation.finished_at else None,
        "attempts": generation.attempts,
        "timings": generation.timings or {},
        "stages": generation.stages or {},
        "error": {"code": generation.error_code, "reason": generation.error_reason} if generation.error_reason else None,
        "links": links(generation, base),
    }
    if generation.status == GenerationStatus.QUEUED and waiting:
        body["waiting"] = waiting
    if generation.status == GenerationStatus.SUCCEEDED:
        body["output"] = dict(generation.output or {}, bytes=generation.video_bytes, sha256=generation.video_sha256,
                              content_type="video/mp4")
    if generation.watermark_id is not None:
        body["watermark"] = {"identifier": f"{generation.watermark_id:016x}", "key_id": generation.watermark_key_id}
    if generation.input_decision_id or generation.output_decision_id:
        body["decisions"] = {"input": generation.input_decision_id, "output": generation.output_decision_id}
    return body
