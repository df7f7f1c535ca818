"""The body of POST /v1/generations as the client sends it: JSON or form fields, and a base64 image."""

from __future__ import annotations

import base64
import binascii

import msgspec

from service.json_bodies import decode_json
from service.problems import InvalidRequest, PayloadTooLarge


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
