"""Each backend file loads through from_pretrained and returns frames of the requested shape."""

from __future__ import annotations

import numpy as np
import pytest

from service.generation import GenerationCancelled, GenerationInput, create_backend
from tests.service.conftest import make_settings
from tests.service.tiny_svd import build_tiny_svd


@pytest.fixture(scope="session")
def tiny_svd_dir(tmp_path_factory):
    return build_tiny_svd(tmp_path_factory.mktemp("tiny-svd"))


def request(**values) -> GenerationInput:
    defaults = dict(prompt="a fox", num_frames=5, fps=8, width=256, height=256, num_inference_steps=2, seed=3, guidance=1.0)
    return GenerationInput(**(defaults | values))


def test_tiny_text_to_video_is_deterministic_and_follows_the_prompt(settings):
    backend = create_backend("tiny", settings)
    steps = []
    first = backend.generate(request(), lambda step, total: steps.append((step, total)))
    again = backend.generate(request(), lambda *_: None)
    other = backend.generate(request(prompt="a city at night"), lambda *_: None)
    assert first.shape == (5, 256, 256, 3) and first.dtype == np.uint8
    assert steps == [(1, 2), (2, 2)]
    assert np.array_equal(first, again)
    assert not np.array_equal(first, other)


def test_tiny_image_to_video_and_upscaled_sizes(settings):
    backend = create_backend("tiny", settings)
    image = np.random.default_rng(0).integers(0, 255, (120, 160, 3), dtype=np.uint8)
    frames = backend.generate(request(image=image, width=320, height=258, num_frames=7), lambda *_: None)
    assert frames.shape == (7, 258, 320, 3)


def test_cancellation_stops_between_steps(settings):
    backend = create_backend("tiny", settings)
    seen = []

    def on_step(step, total):
        seen.append(step)
        if step == 2:
            raise GenerationCancelled("stop")

    with pytest.raises(GenerationCancelled):
        backend.generate(request(num_inference_steps=10), on_step)
    assert seen == [1, 2]


def test_ltx_backend_loads_a_local_directory(settings, models_dir):
    from service.generation import tiny

    settings = settings.replace(ltx_model=str(models_dir / f"tiny-ltx-v{tiny.FORMAT_VERSION}"))
    backend = create_backend("ltx", settings)
    assert backend.availability() == (True, f"local directory {settings.ltx_model}")
    frames = backend.generate(request(width=64, height=32, num_frames=9), lambda *_: None)
    assert frames.shape == (9, 32, 64, 3)
    image = np.full((48, 80, 3), 128, np.uint8)
    assert backend.generate(request(image=image, width=64, height=64, num_frames=9), lambda *_: None).shape == (9, 64, 64, 3)


def test_svd_backend_loads_a_local_directory(settings, tiny_svd_dir):
    settings = settings.replace(svd_xt_model=str(tiny_svd_dir), decode_chunk_size=2)
    backend = create_backend("svd-xt", settings)
    assert backend.availability()[0]
    image = np.random.default_rng(1).integers(0, 255, (90, 120, 3), dtype=np.uint8)
    steps = []
    frames = backend.generate(
        request(prompt=None, image=image, width=64, height=48, num_frames=4, fps=7, motion_bucket_id=127,
                noise_aug_strength=0.02, guidance=3.0),
        lambda step, total: steps.append(step),
    )
    assert frames.shape == (4, 48, 64, 3) and steps == [1, 2]


def test_real_models_without_weights_say_why(tmp_path, models_dir):
    settings = make_settings(tmp_path, models_dir, ltx_model=str(tmp_path / "missing"))
    available, reason = create_backend("ltx", settings).availability()
    assert not available and "does not exist" in reason
    available, reason = create_backend("svd", settings).availability()
    assert not available and "downloads are off" in reason
