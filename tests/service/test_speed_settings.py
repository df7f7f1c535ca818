"""Speed settings: off by default, checked at start-up with the reason, applied to the right model
only, and — for those that change the output — really changing it (a cache that hooks nothing would
be a speed setting that does nothing while the record claims it ran)."""

from __future__ import annotations

import os

import numpy as np
import pytest

from service.backends import GenerationInput, create_backend
from service.backends.speed import speed_plan, use_compile_cache
from tests.service.conftest import new_backend_settings

SHAPE = dict(prompt="a fox", fps=8, num_inference_steps=6, seed=1, guidance=5.0, num_frames=9)
SIZES = {"wan": dict(width=96, height=64), "hunyuan": dict(width=64, height=64), "tiny": dict(width=256, height=256)}


@pytest.fixture
def configured(settings, tiny_wan_dir, tiny_hunyuan_dirs):
    return settings.replace(**new_backend_settings(tiny_wan_dir, tiny_hunyuan_dirs))


def clip(settings, model: str, **changes) -> np.ndarray:
    backend = create_backend(model, settings.replace(**changes))
    return backend.generate(GenerationInput(**SHAPE, **SIZES[model]), lambda *_: None)


def test_defaults_change_nothing_and_name_only_the_dtype(configured):
    for model in ("tiny", "ltx", "svd", "wan", "hunyuan"):
        plan = speed_plan(model, configured)
        assert plan.step_cache is None and not plan.fp8_denoiser and not plan.compile
        assert plan.output_settings("float32") == {"dtype": "float32"}


@pytest.mark.parametrize(
    "value, words",
    [
        ("wan=mag:0.1", "MagCache needs per-checkpoint calibrated ratios"),
        ("wan=faster", "FasterCache fails"),
        ("wan=first-block:2", "between 0 and 1"),
        ("wan=taylorseer:1.5", "whole number"),
        ("wan", "is not model=kind[:value]"),
        ("wan=teacache", "unknown step cache 'teacache'"),
        ("wna=first-block", "names unknown model(s) wna"),
    ],
)
def test_bad_step_cache_settings_fail_at_start_up_with_the_reason(configured, value, words):
    with pytest.raises(ValueError, match="ORIGINFRAME_STEP_CACHE") as error:
        create_backend("wan", configured.replace(step_cache=value))
    assert words in str(error.value)


def test_a_step_cache_applies_to_the_named_model_only(configured):
    assert (
        speed_plan("wan", configured.replace(step_cache="wan=first-block,ltx=taylorseer:4")).step_cache.describe()
        == "first-block:0.05"
    )
    assert (
        speed_plan("ltx", configured.replace(step_cache="wan=first-block,ltx=taylorseer:4")).step_cache.describe()
        == "taylorseer:4"
    )
    assert speed_plan("hunyuan", configured.replace(step_cache="wan=first-block")).step_cache is None
    with pytest.raises(ValueError, match="UNet"):
        create_backend("svd", configured.replace(step_cache="svd=first-block"))
    with pytest.raises(ValueError, match="ORIGINFRAME_FP8_MODELS names unknown model"):
        create_backend("wan", configured.replace(fp8_models="wan,hunyan"))
    with pytest.raises(ValueError, match=r"compile_mode|COMPILE_MODE"):
        speed_plan("wan", configured.replace(compile_mode="fastest"))


@pytest.mark.parametrize(
    "model, setting",
    [
        ("wan", {"step_cache": "wan=first-block:0.3"}),
        ("wan", {"step_cache": "wan=taylorseer:2"}),
        ("wan", {"step_cache": "wan=pyramid-attention:2"}),
        ("wan", {"fp8_models": "wan"}),
        ("hunyuan", {"step_cache": "hunyuan=taylorseer:2"}),
        ("hunyuan", {"step_cache": "hunyuan=pyramid-attention:2"}),
        ("tiny", {"step_cache": "tiny=taylorseer:2"}),
        ("tiny", {"fp8_models": "tiny"}),
    ],
)
def test_settings_that_change_the_output_do_change_it_a_little(configured, model, setting):
    reference = clip(configured, model)
    changed = clip(configured, model, **setting)
    difference = np.abs(changed.astype(np.int16) - reference).mean()
    assert 0 < difference < 40, difference  # it ran (not identical) and the clip is still the same clip, roughly


def test_fp8_stores_the_denoiser_weights_in_float8(configured):
    import torch

    backend = create_backend("wan", configured.replace(fp8_models="wan"))
    backend.load()
    dtypes = {
        parameter.dtype
        for name, parameter in backend._text_to_video.transformer.named_parameters()
        if "blocks." in name
    }
    assert torch.float8_e4m3fn in dtypes


def test_a_cache_the_model_cannot_take_is_refused_at_start_up_or_load(configured):
    with pytest.raises(ValueError, match="not in diffusers' block registry"):
        create_backend("hunyuan", configured.replace(step_cache="hunyuan=first-block"))
    backend = create_backend(
        "tiny", configured.replace(step_cache="tiny=first-block")
    )  # a one-block model: known once loaded
    with pytest.raises(ValueError, match="at least two transformer blocks"):
        backend.load()


def test_compile_cache_points_inductor_at_the_configured_directory(configured, tmp_path, monkeypatch):
    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", "/tmp/elsewhere")
    plan = speed_plan("svd-xt", configured.replace(torch_compile=True, compile_cache_dir=str(tmp_path / "cache")))
    assert plan.describe("bfloat16")["compile"] == {"mode": "default", "cache_dir": str(tmp_path / "cache")}
    use_compile_cache(plan.compile_cache_dir)
    from torch._inductor.runtime.cache_dir_utils import cache_dir

    assert os.environ["TORCHINDUCTOR_CACHE_DIR"] == str(tmp_path / "cache") and cache_dir() == str(tmp_path / "cache")


@pytest.mark.parametrize("model", ["wan", "tiny"])
def test_a_timestep_aware_cache_works_in_the_image_pipeline_that_shares_the_transformer(configured, model):
    # the image pipeline reuses the text pipeline's transformer and hooks; the hook must read the running pipeline's step
    image = np.random.default_rng(3).integers(0, 255, (64, 96, 3), dtype=np.uint8)
    request = GenerationInput(image=image, **SHAPE, **SIZES[model])
    reference = create_backend(model, configured).generate(request, lambda *_: None)
    cached = create_backend(model, configured.replace(step_cache=f"{model}=pyramid-attention:2")).generate(
        request, lambda *_: None
    )
    assert 0 < np.abs(cached.astype(np.int16) - reference).mean() < 40
