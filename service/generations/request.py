"""The body of POST /v1/generations as the client sends it (JSON, or form fields and an image
file), and the generation parameters it carries.

`GenerationRequest` is the one source of the parameter list: each numeric field's annotation
holds its description, its CLI flag and its bounds (fixed, or a limit setting), and
`GENERATION_PARAMETERS` is read from it. Validation (service/generations/resolution.py), the
`originframe generate` options and the OpenAPI document all come from here; a test holds every
backend's info() and `GenerationInput` to the same list.
"""

from __future__ import annotations

import base64
import binascii
import typing
from dataclasses import dataclass
from typing import Annotated

import msgspec
from msgspec import Meta

from service.json_bodies import decode_json
from service.problems import InvalidRequest, PayloadTooLarge


class GenerationRequest(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """Body of POST /v1/generations (JSON), or the form fields of the multipart variant."""

    model: str | None = None
    prompt: str | None = None
    negative_prompt: str | None = None
    image: str | None = None  # base64, or a data: URL (JSON only; multipart sends a file)
    num_frames: (
        Annotated[int, Meta(description="Frames in the clip", extra={"cli": "--frames", "limit": "max_frames"})] | None
    ) = None
    fps: Annotated[int, Meta(description="Frames per second of the clip", extra={"limit": "max_fps"})] | None = None
    width: Annotated[int, Meta(description="Frame width in pixels (a multiple of the model's size step)")] | None = None
    height: Annotated[int, Meta(description="Frame height in pixels (a multiple of the model's size step)")] | None = (
        None
    )
    num_inference_steps: (
        Annotated[int, Meta(description="Denoising steps", extra={"cli": "--steps", "limit": "max_steps"})] | None
    ) = None
    seed: (
        Annotated[
            int,
            Meta(description="Random seed (left out: a random one, reported back)", extra={"range": (0, 2**32 - 1)}),
        ]
        | None
    ) = None
    motion_bucket_id: (
        Annotated[int, Meta(description="Image-to-video (SVD): how much motion", extra={"range": (0, 255)})] | None
    ) = None
    noise_aug_strength: (
        Annotated[
            float, Meta(description="Image-to-video (SVD): noise added to the input image", extra={"range": (0.0, 1.0)})
        ]
        | None
    ) = None
    guidance: (
        Annotated[float, Meta(description="Classifier-free guidance scale", extra={"range": (0.0, 20.0)})] | None
    ) = None
    # the schedules the flow-matching models were trained with use 1 to 17 (Wan 3-12, HunyuanVideo 1.5 5-9)
    flow_shift: (
        Annotated[float, Meta(description="Flow-matching schedule shift (wan, hunyuan)", extra={"range": (1.0, 20.0)})]
        | None
    ) = None


@dataclass(frozen=True)
class GenerationParameter:
    """One numeric generation parameter, as GenerationRequest declares it."""

    name: str
    kind: type[int] | type[float]
    description: str
    cli_flag: str
    bounds: tuple[float, float] | None = None  # fixed bounds, inclusive
    limit_setting: str | None = None  # or 1 to this setting's value (an operator's limit)


def _declared_parameters() -> tuple[GenerationParameter, ...]:
    hints = typing.get_type_hints(GenerationRequest, include_extras=True)
    parameters = []
    for field in msgspec.structs.fields(GenerationRequest):
        annotated = [arm for arm in typing.get_args(hints[field.name]) if typing.get_origin(arm) is Annotated]
        if not annotated:
            continue  # model, prompt, negative_prompt, image: the request's subject, not a parameter
        kind, meta = typing.get_args(annotated[0])
        extra = meta.extra or {}
        parameters.append(
            GenerationParameter(
                name=field.name,
                kind=kind,
                description=meta.description or "",
                cli_flag=extra.get("cli", "--" + field.name.replace("_", "-")),
                bounds=extra.get("range"),
                limit_setting=extra.get("limit"),
            )
        )
    return tuple(parameters)


GENERATION_PARAMETERS = _declared_parameters()
PARAMETER_NAMES = tuple(parameter.name for parameter in GENERATION_PARAMETERS)


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
