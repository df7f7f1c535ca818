"""A request resolved against its model: the model's defaults applied, every limit checked,
the input image decoded. The first problem is a teaching 4xx."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Any

from provenance.media import load_image
from service.backends import KNOWN_MODELS, Backend, GenerationInput
from service.backends.contract import frames_rule_step
from service.digests import sha256_hex
from service.generations.request import GENERATION_PARAMETERS, GenerationRequest, decode_base64_image
from service.problems import InvalidRequest, ModelUnavailable, PayloadTooLarge
from service.settings import Settings


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
            "parameters": {k: v for k, v in self.parameters.items() if k != "seed"}
            | {"seed": self.parameters.get("seed_requested")},
            "prompt": self.input.prompt,
            "negative_prompt": self.input.negative_prompt,
            "image": sha256_hex(self.image_bytes) if self.image_bytes else None,
        }
        return sha256_hex(json.dumps(material, sort_keys=True).encode())


def resolve_request(
    request: GenerationRequest,
    image_bytes: bytes | None,
    backends: dict[str, Backend],
    settings: Settings,
    check_weights: bool = True,
) -> ResolvedRequest:
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
        raise InvalidRequest(
            f"prompt is {len(prompt)} characters; the limit is {settings.max_prompt_chars}", field="prompt"
        )
    if negative and len(negative) > settings.max_prompt_chars:
        raise InvalidRequest(
            f"negative_prompt is longer than {settings.max_prompt_chars} characters", field="negative_prompt"
        )
    if request.image is not None and image_bytes is not None:
        raise InvalidRequest("send the image either as a file or as base64, not both", field="image")
    if request.image is not None:
        image_bytes = decode_base64_image(request.image, settings.max_upload_bytes)
    if image_bytes is not None and len(image_bytes) > settings.max_upload_bytes:
        raise PayloadTooLarge(
            f"the image is {len(image_bytes)} bytes; the limit is {settings.max_upload_bytes}",
            limit_bytes=settings.max_upload_bytes,
        )

    if not info.uses_prompt and (prompt or negative):
        raise InvalidRequest(
            f"model '{name}' is image-to-video and takes no text; leave out prompt and negative_prompt, "
            f"or use a text model ({', '.join(n for n, b in backends.items() if b.info().uses_prompt)})",
            field="prompt",
        )
    if image_bytes is None and "text-to-video" not in info.modes:
        raise InvalidRequest(f"model '{name}' is image-to-video: send an input image", field="image")
    if image_bytes is None and not prompt:
        raise InvalidRequest("send a prompt, an input image, or both", field="prompt")
    if image_bytes is not None and "image-to-video" not in info.modes:
        raise InvalidRequest(f"model '{name}' does not take an input image", field="image")

    values = {parameter.name: getattr(request, parameter.name) for parameter in GENERATION_PARAMETERS}
    for field, value in values.items():
        if value is not None and field not in info.parameters:
            raise InvalidRequest(f"model '{name}' does not use {field}; leave it out", field=field)
    resolved: dict[str, Any] = {
        field: (value if value is not None else info.defaults.get(field))
        for field, value in values.items()
        if field in info.parameters
    }

    for parameter in GENERATION_PARAMETERS:
        bounds = parameter.bounds or (
            (1, getattr(settings, parameter.limit_setting)) if parameter.limit_setting else None
        )
        value = resolved.get(parameter.name)
        if bounds is not None and value is not None and not (bounds[0] <= value <= bounds[1]):
            raise InvalidRequest(
                f"{parameter.name} must be between {bounds[0]} and {bounds[1]}; got {value}", field=parameter.name
            )
    step = frames_rule_step(info.frames_rule)
    if step and (resolved["num_frames"] - 1) % step:
        k = max(1, round((resolved["num_frames"] - 1) / step))
        raise InvalidRequest(
            f"model '{name}' needs num_frames of the form {info.frames_rule} (e.g. {step * k + 1}); "
            f"got {resolved['num_frames']}",
            field="num_frames",
        )
    if info.max_frames and resolved["num_frames"] > info.max_frames:
        raise InvalidRequest(
            f"model '{name}' was trained for at most {info.max_frames} frames; got {resolved['num_frames']}",
            field="num_frames",
        )
    duration = resolved["num_frames"] / resolved["fps"]
    if duration > settings.max_duration_s:
        raise InvalidRequest(
            f"the clip would last {duration:.1f} s (num_frames / fps); the limit is {settings.max_duration_s} s",
            field="num_frames",
        )
    for field in ("width", "height"):
        side = resolved[field]
        if side < info.min_side or side % info.size_multiple:
            raise InvalidRequest(
                f"{field} for model '{name}' must be a multiple of {info.size_multiple} and at least {info.min_side}; got {side}",
                field=field,
            )
    if resolved["width"] * resolved["height"] > settings.max_output_pixels:
        raise InvalidRequest(
            f"{resolved['width']}x{resolved['height']} is more than the {settings.max_output_pixels} pixels allowed per frame",
            field="width",
        )

    image = load_image(image_bytes, max_pixels=settings.max_image_pixels) if image_bytes is not None else None
    parameters = dict(resolved)
    parameters["seed_requested"] = request.seed
    if parameters.get("seed") is None:
        parameters["seed"] = secrets.randbelow(2**32)
    generation_input = GenerationInput(
        prompt=prompt,
        negative_prompt=negative,
        image=image,
        **{k: v for k, v in parameters.items() if k != "seed_requested"},
    )
    return ResolvedRequest(model=name, input=generation_input, image_bytes=image_bytes, parameters=parameters)
