"""Each backend file loads through from_pretrained and returns frames of the requested shape."""

from __future__ import annotations

import numpy as np
import pytest

from service.backends import GenerationCancelled, GenerationInput, create_backend
from tests.service.conftest import make_settings
from tests.service.tiny_svd import build_tiny_svd


@pytest.fixture(scope="session")
def tiny_svd_dir(tmp_path_factory):
    return build_tiny_svd(tmp_path_factory.mktemp("tiny-svd"))


def request(**values) -> GenerationInput:
    defaults = dict(
        prompt="a fox", num_frames=5, fps=8, width=256, height=256, num_inference_steps=2, seed=3, guidance=1.0
    )
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
    from service.backends import tiny

    settings = settings.replace(ltx_model=str(models_dir / f"tiny-ltx-v{tiny.FORMAT_VERSION}"))
    backend = create_backend("ltx", settings)
    assert backend.availability() == (True, f"local directory {settings.ltx_model}")
    frames = backend.generate(request(width=64, height=32, num_frames=9), lambda *_: None)
    assert frames.shape == (9, 32, 64, 3)
    image = np.full((48, 80, 3), 128, np.uint8)
    assert backend.generate(request(image=image, width=64, height=64, num_frames=9), lambda *_: None).shape == (
        9,
        64,
        64,
        3,
    )


def test_svd_backend_loads_a_local_directory(settings, tiny_svd_dir):
    settings = settings.replace(svd_xt_model=str(tiny_svd_dir), decode_chunk_size=2)
    backend = create_backend("svd-xt", settings)
    assert backend.availability()[0]
    image = np.random.default_rng(1).integers(0, 255, (90, 120, 3), dtype=np.uint8)
    steps = []
    frames = backend.generate(
        request(
            prompt=None,
            image=image,
            width=64,
            height=48,
            num_frames=4,
            fps=7,
            motion_bucket_id=127,
            noise_aug_strength=0.02,
            guidance=3.0,
        ),
        lambda step, total: steps.append(step),
    )
    assert frames.shape == (4, 48, 64, 3) and steps == [1, 2]


def test_real_models_without_weights_say_why(tmp_path, models_dir):
    settings = make_settings(tmp_path, models_dir, ltx_model=str(tmp_path / "missing"))
    available, reason = create_backend("ltx", settings).availability()
    assert not available and "does not exist" in reason
    available, reason = create_backend("svd", settings).availability()
    assert not available and "downloads are off" in reason


# --- the newer models: Wan 2.1/2.2 and HunyuanVideo 1.5, tiny weights in local directories -----------------


@pytest.fixture
def new_backends(settings, tiny_wan_dir, tiny_hunyuan_dirs):
    from tests.service.conftest import new_backend_settings

    configured = settings.replace(**new_backend_settings(tiny_wan_dir, tiny_hunyuan_dirs))
    return {name: create_backend(name, configured) for name in ("wan", "hunyuan")}


# sizes and frame counts each model accepts (Wan TI2V: sides in 32s; Hunyuan: 16s; both 4k+1 frames)
NEW_SHAPES = {"wan": dict(width=96, height=64, num_frames=9), "hunyuan": dict(width=48, height=32, num_frames=5)}


@pytest.mark.parametrize("name", ["wan", "hunyuan"])
def test_new_backend_loads_a_local_directory_and_makes_both_modes(new_backends, name):
    backend = new_backends[name]
    available, reason = backend.availability()
    assert available and reason.startswith("local directory"), reason
    assert set(backend.info().modes) == {"text-to-video", "image-to-video"}
    shape = NEW_SHAPES[name]
    steps = []
    text = backend.generate(request(guidance=5.0, **shape), lambda step, total: steps.append((step, total)))
    assert text.shape == (shape["num_frames"], shape["height"], shape["width"], 3) and text.dtype == np.uint8
    assert steps == [(1, 2), (2, 2)]
    assert np.array_equal(text, backend.generate(request(guidance=5.0, **shape), lambda *_: None))
    assert not np.array_equal(text, backend.generate(request(guidance=5.0, seed=4, **shape), lambda *_: None))
    image = np.random.default_rng(2).integers(0, 255, (70, 90, 3), dtype=np.uint8)
    from_image = backend.generate(request(image=image, guidance=5.0, **shape), lambda *_: None)
    assert from_image.shape == text.shape and backend.loaded


@pytest.mark.parametrize("name", ["wan", "hunyuan"])
def test_new_backend_flow_shift_is_per_request(new_backends, name):
    backend = new_backends[name]
    shape = NEW_SHAPES[name] | dict(num_inference_steps=3, guidance=5.0)
    default = backend.generate(request(**shape), lambda *_: None)
    shifted = backend.generate(request(flow_shift=1.5, **shape), lambda *_: None)
    assert not np.array_equal(default, shifted)
    # the shift does not stick to the backend after the request that asked for it
    assert np.array_equal(default, backend.generate(request(**shape), lambda *_: None))


@pytest.mark.parametrize("name", ["wan", "hunyuan"])
def test_new_backend_cancellation_stops_between_steps(new_backends, name):
    seen = []

    def on_step(step, total):
        seen.append(step)
        if step == 2:
            raise GenerationCancelled("stop")

    with pytest.raises(GenerationCancelled):
        new_backends[name].generate(request(num_inference_steps=6, **NEW_SHAPES[name]), on_step)
    assert seen == [1, 2]


def test_wan_21_layout_with_separate_image_model_and_clip_encoder(settings, tmp_path):
    from tests.service.tiny_wan import build_tiny_wan21

    text_dir, image_dir = build_tiny_wan21(tmp_path / "wan21")
    backend = create_backend(
        "wan", settings.replace(wan_variant="2.1-14b", wan_model=str(text_dir), wan_i2v_model=str(image_dir))
    )
    assert backend.info().size_multiple == 16 and backend.info().source == f"{text_dir} + {image_dir}"
    image = np.full((40, 60, 3), 90, np.uint8)
    assert backend.generate(request(image=image, width=48, height=32, num_frames=5), lambda *_: None).shape == (
        5,
        32,
        48,
        3,
    )
    assert backend.generate(request(width=48, height=32, num_frames=5), lambda *_: None).shape == (5, 32, 48, 3)


def test_wan_variant_that_does_not_match_the_weights_is_refused_at_load(settings, tiny_wan_dir):
    backend = create_backend("wan", settings.replace(wan_variant="2.1-1.3b", wan_model=str(tiny_wan_dir)))
    assert backend.info().modes == ("text-to-video",)  # the 1.3B release has no image model
    with pytest.raises(ValueError, match=r"multiples of 32 .* expects 16"):
        backend.load()


def test_new_backends_without_weights_say_why(tmp_path, models_dir):
    settings = make_settings(tmp_path, models_dir, wan_model=str(tmp_path / "missing"))
    available, reason = create_backend("wan", settings).availability()
    assert not available and "does not exist" in reason
    available, reason = create_backend("hunyuan", settings).availability()
    assert not available and "downloads are off" in reason
    with pytest.raises(ValueError, match=r"ORIGINFRAME_WAN_VARIANT='3\.0'"):
        create_backend("wan", settings.replace(wan_variant="3.0"))


def test_each_mode_names_its_own_weights(settings):
    from service.pipeline.signing import public_model_id

    info = create_backend("wan", settings.replace(wan_variant="2.1-14b")).info()
    assert info.extra["sources"] == {
        "text-to-video": "Wan-AI/Wan2.1-T2V-14B-Diffusers",
        "image-to-video": "Wan-AI/Wan2.1-I2V-14B-720P-Diffusers",
    }
    # the manifest names the hub id of the model that ran, not the pair
    assert public_model_id(info.extra["sources"]["image-to-video"], "wan") == "Wan-AI/Wan2.1-I2V-14B-720P-Diffusers"
    assert create_backend("wan", settings.replace(wan_variant="2.1-1.3b")).info().extra["sources"] == {
        "text-to-video": "Wan-AI/Wan2.1-T2V-1.3B-Diffusers"
    }
