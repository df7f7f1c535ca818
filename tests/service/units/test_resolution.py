"""service/generations/resolution.py without HTTP: defaults, limits and the request's identity."""

from __future__ import annotations

import base64

import pytest

from service.backends import create_backend
from service.generations.request import GenerationRequest
from service.generations.resolution import resolve_request
from service.problems import InvalidRequest, PayloadTooLarge
from tests.service.conftest import png_bytes


@pytest.fixture
def backends(settings):
    return {"tiny": create_backend("tiny", settings)}


def test_the_models_defaults_fill_what_the_request_leaves_out(backends, settings):
    resolved = resolve_request(GenerationRequest(prompt="  a lake  "), None, backends, settings)
    info = backends["tiny"].info()
    assert resolved.model == settings.default_model == "tiny" and resolved.input.prompt == "a lake"
    for name in ("num_frames", "fps", "width", "height", "num_inference_steps"):
        assert resolved.parameters[name] == info.defaults[name] == getattr(resolved.input, name)
    assert resolved.parameters["seed_requested"] is None and 0 <= resolved.parameters["seed"] < 2**32
    assert resolved.input.mode == "text-to-video" and resolved.image_bytes is None


def test_a_random_seed_is_not_part_of_the_requests_identity(backends, settings):
    first = resolve_request(GenerationRequest(prompt="a lake"), None, backends, settings)
    second = resolve_request(GenerationRequest(prompt="a lake"), None, backends, settings)
    assert first.digest() == second.digest()
    assert (
        resolve_request(GenerationRequest(prompt="a lake", seed=1), None, backends, settings).digest() != first.digest()
    )


@pytest.mark.parametrize(
    "request_fields, field, words",
    [
        ({"num_frames": 10_000}, "num_frames", "between 1 and"),
        ({"seed": 2**40}, "seed", "between 0 and"),
        ({"width": 255}, "width", "multiple of"),
        ({"model": "nonesuch"}, "model", "unknown model"),
        ({"motion_bucket_id": 3}, "motion_bucket_id", "does not use"),
    ],
)
def test_each_limit_is_a_teaching_error_naming_its_field(backends, settings, request_fields, field, words):
    with pytest.raises(InvalidRequest) as refused:
        resolve_request(GenerationRequest(prompt="a lake", **request_fields), None, backends, settings)
    assert refused.value.extensions["field"] == field and words in refused.value.detail


def test_an_image_comes_as_a_file_or_as_base64_not_both(backends, settings):
    image = png_bytes(256, 256)
    as_base64 = GenerationRequest(image="data:image/png;base64," + base64.b64encode(image).decode())
    resolved = resolve_request(as_base64, None, backends, settings)
    assert resolved.image_bytes == image and resolved.input.mode == "image-to-video"
    assert resolved.input.image is not None and resolved.input.image.shape == (256, 256, 3)
    with pytest.raises(InvalidRequest, match="not both"):
        resolve_request(as_base64, image, backends, settings)
    with pytest.raises(PayloadTooLarge):
        resolve_request(
            GenerationRequest(prompt="x"), b"\x89PNG" + bytes(settings.max_upload_bytes), backends, settings
        )


def test_nothing_to_make_a_clip_of_is_refused(backends, settings):
    with pytest.raises(InvalidRequest, match="a prompt, an input image, or both"):
        resolve_request(GenerationRequest(prompt="   "), None, backends, settings)
