"""Generation requests: validate against the model and the limits, record, queue, show, cancel."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

import msgspec
from sqlalchemy import func, select, update

from provenance.media import load_image
from service.db import ApiKey, Generation, utcnow
from service.json_bodies import decode_json
from service.errors import Conflict, InvalidRequest, ModelUnavailable, NotFound, PayloadTooLarge
from service.generation import KNOWN_MODELS, GenerationInput
from service.generation.contract import frames_rule_step
from service.jobs.leases import CANCELLED, FINAL_STATES, QUEUED, REVIEW, RUNNING


class GenerationRequest(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """Body of POST /v1/generations (JSON), or the form fields of the multipart variant."""

    model: str | None = None
    prompt: str | None = None
    negative_prompt: str | None = None
    image: str | None = None  # base64, or a data: URL (JSON only; multipart sends a file)
    num_frames: int | None = None
    fps: int | None = None
    width: int | None = None
    height: int | None = None
    num_inference_steps: int | None = None
    seed: int | None = None
    motion_bucket_id: int | None = None
    noise_aug_strength: float | None = None
    guidance: float | None = None
    flow_shift: float | None = None


_NUMERIC = ("num_frames", "fps", "width", "height", "num_inference_steps", "seed", "motion_bucket_id", "noise_aug_strength", "guidance",
            "flow_shift")
# flow_shift: the schedules the flow-matching models were trained with use 1 to 17 (Wan 3-12, HunyuanVideo 1.5 5-9)
_RANGES = {"motion_bucket_id": (0, 255), "noise_aug_strength": (0.0, 1.0), "guidance": (0.0, 20.0), "seed": (0, 2**32 - 1),
           "flow_shift": (1.0, 20.0)}


def parse_json_request(body: bytes) -> GenerationRequest:
    if not body.strip():
        raise InvalidRequest("the request body is empty; send a JSON object with at least a prompt or an image")
    return decode_json(body, GenerationRequest)


def parse_form_request(fields: dict[str, str]) -> GenerationRequest:
    try:
        return msgspec.convert({k: v for k, v in fields.items() if v != ""}, GenerationRequest, strict=False)
    except msgspec.ValidationError as error:
        raise InvalidRequest(f"invalid form field: {error}") from None


def decode_base64_image(value: str, max_bytes: int) -> bytes:
    if value.startswith("data:"):
        header, _, value = value.partition(",")
        if ";base64" not in header:
            raise InvalidRequest("a data: URL image must be base64-encoded", field="image")
    if len(value) * 3 // 4 > max_bytes:
        raise PayloadTooLarge(f"the image is larger than {max_bytes} bytes", limit_bytes=max_bytes)
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidRequest("image is not valid base64", field="image") from None


@dataclass
class ResolvedRequest:
    model: str
    input: GenerationInput
    image_bytes: bytes | None
    parameters: dict[str, Any]

    def digest(self) -> str:
        """Identity of the request, for Idempotency-Key reuse checks."""
        material = {
            "model": self.model,
            "parameters": {k: v for k, v in self.parameters.items() if k != "seed"} | {"seed": self.parameters.get("seed_requested")},
            "prompt": self.input.prompt,
            "negative_prompt": self.input.negative_prompt,
            "image": hashlib.sha256(self.image_bytes).hexdigest() if self.image_bytes else None,
        }
        return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()


def resolve_request(request: GenerationRequest, image_bytes: bytes | None, backends: dict, settings,
                    check_weights: bool = True) -> ResolvedRequest:
    """Apply the model's defaults and check every limit; raise a teaching error on the first problem.
    check_weights: the model's weights must be here (off on a fleet's API node, where workers hold them)."""
    name = request.model or settings.default_model
    if name not in backends:
        offered = ", ".join(backends)
        if name in KNOWN_MODELS:
            raise InvalidRequest(f"model '{name}' is not enabled on this deployment; offered: {offered}", field="model")
        raise InvalidRequest(f"unknown model '{name}'; offered: {offered}", field="model")
    backend = backends[name]
    info = backend.info()
    available, reason = backend.availability() if check_weights else (True, "")
    if not available:
        raise ModelUnavailable(f"model '{name}' cannot run here: {reason}", model=name)

    prompt = (request.prompt or "").strip() or None
    negative = (request.negative_prompt or "").strip() or None
    if prompt and len(prompt) > settings.max_prompt_chars:
        raise InvalidRequest(f"prompt is {len(prompt)} characters; the limit is {settings.max_prompt_chars}", field="prompt")
    if negative and len(negative) > settings.max_prompt_chars:
        raise InvalidRequest(f"negative_prompt is longer than {settings.max_prompt_chars} characters", field="negative_prompt")
    if request.image is not None and image_bytes is not None:
        raise InvalidRequest("send the image either as a file or as base64, not both", field="image")
    if request.image is not None:
        image_bytes = decode_base64_image(request.image, settings.max_upload_bytes)
    if image_bytes is not None and len(image_bytes) > settings.max_upload_bytes:
        raise PayloadTooLarge(f"the image is {len(image_bytes)} bytes; the limit is {settings.max_upload_bytes}",
                              limit_bytes=settings.max_upload_bytes)

    if not info.uses_prompt and (prompt or negative):
        raise InvalidRequest(f"model '{name}' is image-to-video and takes no text; leave out prompt and negative_prompt, "
                             f"or use a text model ({', '.join(n for n, b in backends.items() if b.info().uses_prompt)})", field="prompt")
    if image_bytes is None and "text-to-video" not in info.modes:
        raise InvalidRequest(f"model '{name}' is image-to-video: send an input image", field="image")
    if image_bytes is None and not prompt:
        raise InvalidRequest("send a prompt, an input image, or both", field="prompt")
    if image_bytes is not None and "image-to-video" not in info.modes:
        raise InvalidRequest(f"model '{name}' does not take an input image", field="image")

    values = {field: getattr(request, field) for field in _NUMERIC}
    for field, value in values.items():
        if value is not None and field not in info.parameters:
            raise InvalidRequest(f"model '{name}' does not use {field}; leave it out", field=field)
    resolved = {field: (value if value is not None else info.defaults.get(field)) for field, value in values.items() if field in info.parameters}

    limits = {"num_frames": (1, settings.max_frames), "fps": (1, settings.max_fps), "num_inference_steps": (1, settings.max_steps)}
    for field, (low, high) in (limits | _RANGES).items():
        value = resolved.get(field)
        if value is not None and not (low <= value <= high):
            raise InvalidRequest(f"{field} must be between {low} and {high}; got {value}", field=field)
    step = frames_rule_step(info.frames_rule)
    if step and (resolved["num_frames"] - 1) % step:
        k = max(1, round((resolved["num_frames"] - 1) / step))
        raise InvalidRequest(f"model '{name}' needs num_frames of the form {info.frames_rule} (e.g. {step * k + 1}); "
                             f"got {resolved['num_frames']}", field="num_frames")
    if info.max_frames and resolved["num_frames"] > info.max_frames:
        raise InvalidRequest(f"model '{name}' was trained for at most {info.max_frames} frames; got {resolved['num_frames']}",
                             field="num_frames")
    duration = resolved["num_frames"] / resolved["fps"]
    if duration > settings.max_duration_s:
        raise InvalidRequest(f"the clip would last {duration:.1f} s (num_frames / fps); the limit is {settings.max_duration_s} s",
                             field="num_frames")
    for field in ("width", "height"):
        side = resolved[field]
        if side < info.min_side or side % info.size_multiple:
            raise InvalidRequest(f"{field} for model '{name}' must be a multiple of {info.size_multiple} and at least {info.min_side}; got {side}",
                                 field=field)
    if resolved["width"] * resolved["height"] > settings.max_output_pixels:
        raise InvalidRequest(f"{resolved['width']}x{resolved['height']} is more than the {settings.max_output_pixels} pixels allowed per frame",
                             field="width")

    image = load_image(image_bytes, max_pixels=settings.max_image_pixels) if image_bytes is not None else None
    parameters = dict(resolved)
    parameters["seed_requested"] = request.seed
    if parameters.get("seed") is None:
        parameters["seed"] = secrets.randbelow(2**32)
    generation_input = GenerationInput(prompt=prompt, negative_prompt=negative, image=image,
                                       **{k: v for k, v in parameters.items() if k != "seed_requested"})
    return ResolvedRequest(model=name, input=generation_input, image_bytes=image_bytes, parameters=parameters)


def find_idempotent(session, api_key_id: str | None, idempotency_key: str, digest: str) -> Generation | None:
    existing = session.scalar(
        select(Generation).where(Generation.api_key_id == api_key_id, Generation.idempotency_key == idempotency_key)
    )
    if existing is not None and existing.request_sha256 != digest:
        raise Conflict("this Idempotency-Key was already used with a different request", idempotency_key=idempotency_key)
    return existing


def count_active(session, api_key_id: str) -> int:
    """Generations of this key waiting for or holding a worker (held reviews wait on people, not workers)."""
    return session.scalar(
        select(func.count()).select_from(Generation).where(Generation.api_key_id == api_key_id,
                                                            Generation.status.in_((QUEUED, RUNNING)))
    )


def lock_key(session, api_key_id: str) -> None:
    """Serialise this key's submissions until the session commits: a no-op UPDATE of its row takes
    PostgreSQL's row lock and SQLite's write lock (as the transaction's first statement, so a
    later count sees every generation committed before it)."""
    session.execute(update(ApiKey).where(ApiKey.id == api_key_id).values(last_used_at=ApiKey.last_used_at))


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def create_generation(session, resolved: ResolvedRequest, *, generation_id: str, api_key_id: str | None,
                      idempotency_key: str | None, image_key: str | None, status: str, stages: dict, settings,
                      watermark_id: int | None, input_decision_id: str | None = None,
                      held_by_decision_id: str | None = None) -> Generation:
    prompt = resolved.input.prompt
    blocked = status == "blocked"
    generation = Generation(
        id=generation_id,
        api_key_id=api_key_id,
        idempotency_key=idempotency_key,
        request_sha256=resolved.digest(),
        status=status,
        stage=status,
        model=resolved.model,
        mode=resolved.input.mode,
        parameters=resolved.parameters,
        prompt=prompt,
        prompt_sha256=hashlib.sha256(prompt.encode()).hexdigest() if prompt else None,
        negative_prompt=resolved.input.negative_prompt,
        input_image_key=image_key,
        input_image_sha256=sha256_hex(resolved.image_bytes) if resolved.image_bytes else None,
        max_attempts=settings.max_attempts,
        progress_total=resolved.parameters.get("num_inference_steps") or 0,
        stages=stages,
        timings={},
        output={},
        watermark_id=None if blocked else watermark_id,
        input_decision_id=input_decision_id,
        held_by_decision_id=held_by_decision_id,
        error_code="blocked_by_policy" if blocked else None,
        error_reason="the request was refused by the content policy" if blocked else None,
        finished_at=utcnow() if blocked else None,
        created_at=utcnow(),
    )
    session.add(generation)
    return generation


def get_owned(session, generation_id: str, caller) -> Generation:
    """The caller's own generation (auditors and admins see all); 404 otherwise, not 403, to hide existence."""
    generation = session.get(Generation, generation_id) if _is_uuid(generation_id) else None
    if generation is None or not (generation.api_key_id == caller.key_id or caller.has("audit")):
        raise NotFound(f"no generation {generation_id}")
    return generation


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
        return True
    except ValueError:
        return False


def require_control(generation: Generation, caller) -> None:
    """Changing a generation is for its owner or an admin: auditors may read every tenant's, not act on them."""
    if generation.api_key_id != caller.key_id and not caller.has("admin"):
        raise NotFound(f"no generation {generation.id}")


def request_cancel(session, generation: Generation) -> Generation:
    if generation.status in FINAL_STATES:
        raise Conflict(f"generation {generation.id} is already {generation.status}", generation_status=generation.status)
    if generation.status in (QUEUED, REVIEW):
        session.execute(
            update(Generation).where(Generation.id == generation.id, Generation.status == generation.status)
            .values(status=CANCELLED, stage=CANCELLED, cancel_requested=True, finished_at=utcnow(),
                    error_code="cancelled", error_reason="cancelled by the client before it ran")
        )
    else:  # running: the worker stops between steps
        session.execute(update(Generation).where(Generation.id == generation.id).values(cancel_requested=True))
    session.flush()
    session.refresh(generation)
    return generation


def list_owned(session, caller, *, limit: int, cursor: str | None, status: str | None, all_keys: bool) -> tuple[list[Generation], str | None]:
    """Newest first; the cursor is the created_at/id of the last item of the previous page."""
    query = select(Generation)
    if not (all_keys and caller.has("audit")):
        query = query.where(Generation.api_key_id == caller.key_id)
    if status:
        query = query.where(Generation.status == status)
    if cursor:
        anchor = session.get(Generation, cursor) if _is_uuid(cursor) else None
        if anchor is not None and anchor.api_key_id != caller.key_id and not (all_keys and caller.has("audit")):
            anchor = None  # another tenant's id reads as unknown: 200 vs 422 must not tell that it exists
        if anchor is None:
            raise InvalidRequest("unknown cursor", field="cursor")
        query = query.where(
            (Generation.created_at < anchor.created_at)
            | ((Generation.created_at == anchor.created_at) & (Generation.id < anchor.id))
        )
    rows = list(session.scalars(query.order_by(Generation.created_at.desc(), Generation.id.desc()).limit(limit + 1)))
    next_cursor = rows[limit - 1].id if len(rows) > limit else None
    return rows[:limit], next_cursor


def status_counts(session) -> dict[str, int]:
    return dict(session.execute(select(Generation.status, func.count()).group_by(Generation.status)).all())


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
            "percent": 100.0 if generation.status == "succeeded" else (round(100.0 * step / total, 1) if total else 0.0),
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
    if generation.status == "queued" and waiting:
        body["waiting"] = waiting
    if generation.status == "succeeded":
        body["output"] = dict(generation.output or {}, bytes=generation.video_bytes, sha256=generation.video_sha256,
                              content_type="video/mp4")
    if generation.watermark_id is not None:
        body["watermark"] = {"identifier": f"{generation.watermark_id:016x}", "key_id": generation.watermark_key_id}
    if generation.input_decision_id or generation.output_decision_id:
        body["decisions"] = {"input": generation.input_decision_id, "output": generation.output_decision_id}
    return body
