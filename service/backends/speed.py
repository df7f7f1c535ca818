"""Speed settings for a backend's denoiser: step caches, fp8 weight storage, regional compilation
and a persistent compile cache. The backends' shared helper (no backend imports another).

A step cache and fp8 storage change the pixels a seed gives; they are off unless a setting names
the model, and `describe` returns them so the job record and the C2PA manifest can say which
settings shaped the output. Compilation and the compile cache change only the speed.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from service.settings import Settings


class StepCacheKind(str, Enum):  # noqa: UP042  (a StrEnum would change str() of a member)
    """diffusers' step caches that work on a transformer without per-checkpoint calibration."""

    FIRST_BLOCK = "first-block"  # value: residual threshold of the first block (higher skips more)
    TAYLORSEER = "taylorseer"  # value: cache interval in steps (full computations every n steps)
    PYRAMID_ATTENTION = "pyramid-attention"  # value: spatial attention block skip range


# the defaults diffusers documents for each kind
DEFAULT_VALUES = {
    StepCacheKind.FIRST_BLOCK: 0.05,
    StepCacheKind.TAYLORSEER: 5,
    StepCacheKind.PYRAMID_ATTENTION: 2,
}
# Left out: MagCache (diffusers requires mag_ratios calibrated for each checkpoint and scheduler) and
# FasterCache (in diffusers 0.42.1 it failed on the LTX, Wan and HunyuanVideo 1.5 transformers alike).
# First-block cache needs diffusers' block registry: Wan and LTX have it, HunyuanVideo 1.5 does not.
# TaylorSeer's default module patterns miss blocks whose attention is named attn1/attn2 (Wan, LTX):
# it then hooks nothing and changes nothing, so the attention modules are named here.
_TAYLORSEER_MODULES = [r"(?:transformer_|single_transformer_)?blocks\.\d+\.attn\d*"]


@dataclass(frozen=True)
class StepCache:
    kind: StepCacheKind
    value: float

    def describe(self) -> str:
        return f"{self.kind.value}:{self.value:g}"


@dataclass(frozen=True)
class SpeedPlan:
    """What the settings ask of one model's denoiser."""

    model: str
    step_cache: StepCache | None
    fp8_denoiser: bool
    compile: bool
    compile_mode: str
    compile_cache_dir: str | None

    def output_settings(self, dtype: str) -> dict[str, str]:
        """The settings that shape the pixels (for the job record and the manifest)."""
        shaping = {"dtype": dtype}
        if self.step_cache:
            shaping["step_cache"] = self.step_cache.describe()
        if self.fp8_denoiser:
            shaping["denoiser_weights"] = "float8_e4m3fn (layerwise casting)"
        return shaping

    def describe(self, dtype: str) -> dict[str, Any]:
        described: dict[str, Any] = {"output": self.output_settings(dtype)}
        if self.compile:
            described["compile"] = {"mode": self.compile_mode, "cache_dir": self.compile_cache_dir}
        return described


_COMPILE_MODES = ("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")


def _model_map(text: str, setting: str) -> dict[str, str]:
    entries: dict[str, str] = {}
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        model, separator, value = item.partition("=")
        if not separator or not model.strip() or not value.strip():
            raise ValueError(
                f"ORIGINFRAME_{setting.upper()}: {item!r} is not model=kind[:value] (e.g. wan=first-block:0.05)"
            )
        entries[model.strip()] = value.strip()
    return entries


def parse_step_cache(text: str) -> StepCache:
    kind_text, _, value_text = text.partition(":")
    try:
        kind = StepCacheKind(kind_text.strip())
    except ValueError:
        known = ", ".join(kind.value for kind in StepCacheKind)
        hint = {
            "mag": " (MagCache needs per-checkpoint calibrated ratios and is not offered)",
            "faster": " (FasterCache fails on these transformers in diffusers 0.42.1 and is not offered)",
        }.get(kind_text.strip(), "")
        raise ValueError(f"unknown step cache {kind_text!r}; known: {known}{hint}") from None
    if not value_text.strip():
        return StepCache(kind, float(DEFAULT_VALUES[kind]))
    try:
        value = float(value_text)
    except ValueError:
        raise ValueError(f"step cache {kind.value}: {value_text!r} is not a number") from None
    if kind is StepCacheKind.FIRST_BLOCK and not 0 < value < 1:
        raise ValueError(f"step cache first-block: the threshold must be between 0 and 1; got {value:g}")
    if kind is not StepCacheKind.FIRST_BLOCK and (value < 1 or value != int(value)):
        raise ValueError(
            f"step cache {kind.value}: the value is a whole number of steps or blocks (at least 1); got {value:g}"
        )
    return StepCache(kind, value)


def speed_plan(model: str, settings: Settings) -> SpeedPlan:
    """Read (and check) the speed settings for one model; a bad setting fails at start-up with the reason."""
    from service.backends import KNOWN_MODELS

    caches = _model_map(settings.step_cache, "step_cache")
    fp8 = {name.strip() for name in settings.fp8_models.split(",") if name.strip()}
    for setting, named in (("STEP_CACHE", set(caches)), ("FP8_MODELS", fp8)):
        unknown = sorted(named - set(KNOWN_MODELS))
        if unknown:  # a typo would otherwise leave the setting silently off
            raise ValueError(
                f"ORIGINFRAME_{setting} names unknown model(s) {', '.join(unknown)}; known: {', '.join(KNOWN_MODELS)}"
            )
    if settings.compile_mode not in _COMPILE_MODES:
        raise ValueError(f"ORIGINFRAME_COMPILE_MODE={settings.compile_mode!r}; use one of {', '.join(_COMPILE_MODES)}")
    try:
        step_cache = parse_step_cache(caches[model]) if model in caches else None
    except ValueError as error:
        raise ValueError(f"ORIGINFRAME_STEP_CACHE for {model}: {error}") from None
    return SpeedPlan(
        model=model,
        step_cache=step_cache,
        fp8_denoiser=model in fp8,
        compile=settings.torch_compile,
        compile_mode=settings.compile_mode,
        compile_cache_dir=str(settings.resolved_compile_cache_dir) if settings.torch_compile else None,
    )


def use_compile_cache(directory: str) -> None:
    """Keep inductor's compiled kernels (and the FX and AOT graph caches) on disk, so that a worker
    restart loads them instead of compiling again."""
    os.makedirs(directory, exist_ok=True)
    # assigned, not defaulted: torch writes its default /tmp path into this variable on first use
    os.environ["TORCHINDUCTOR_CACHE_DIR"] = directory
    import torch._inductor.config as inductor_config

    inductor_config.fx_graph_cache = True
    if hasattr(inductor_config, "autotune_local_cache"):
        inductor_config.autotune_local_cache = True
    import torch._functorch.config as functorch_config

    if hasattr(functorch_config, "enable_autograd_cache"):
        functorch_config.enable_autograd_cache = True


def step_cache_config(cache: StepCache, current_timestep: Callable[[], Any]):
    """The diffusers hook config for a step cache; timestep-aware caches read the running pipeline's step."""
    from diffusers import (
        FirstBlockCacheConfig,
        PyramidAttentionBroadcastConfig,
        TaylorSeerCacheConfig,
    )

    if cache.kind is StepCacheKind.FIRST_BLOCK:
        return FirstBlockCacheConfig(threshold=cache.value)
    if cache.kind is StepCacheKind.TAYLORSEER:
        return TaylorSeerCacheConfig(cache_interval=int(cache.value), cache_identifiers=_TAYLORSEER_MODULES)
    return PyramidAttentionBroadcastConfig(
        spatial_attention_block_skip_range=int(cache.value),
        spatial_attention_timestep_skip_range=(100, 800),
        current_timestep_callback=current_timestep,
    )


def running_timestep(*pipelines: Any) -> Any:
    """The timestep of whichever pipeline is denoising. A text and an image pipeline often share one
    transformer (and its hooks); diffusers resets current_timestep to None when a call ends."""
    # getattr with a default: diffusers only creates the attribute behind current_timestep on a pipeline's first call
    steps = (getattr(pipeline, "current_timestep", None) for pipeline in pipelines if pipeline is not None)
    return next((step for step in steps if step is not None), None)


def _block_count(denoiser: Any) -> int:
    names = set(getattr(denoiser, "_repeated_blocks", None) or ())
    return sum(1 for module in denoiser.modules() if type(module).__name__ in names)


def apply_to_denoiser(denoiser: Any, current_timestep: Callable[[], Any], plan: SpeedPlan, settings: Settings) -> None:
    """Apply the plan to a diffusers transformer, in the order the hooks need: fp8 storage, then the
    step cache, then regional compilation (compiling last lets the compiled blocks include the hooks)."""
    import torch

    if plan.fp8_denoiser:
        denoiser.enable_layerwise_casting(
            storage_dtype=torch.float8_e4m3fn, compute_dtype=getattr(torch, settings.dtype)
        )
    if plan.step_cache is not None:
        if plan.step_cache.kind is StepCacheKind.FIRST_BLOCK and _block_count(denoiser) < 2:
            raise ValueError(
                f"step cache first-block needs at least two transformer blocks (the first one decides for the rest); "
                f"{type(denoiser).__name__} here has {_block_count(denoiser)}"
            )
        try:
            denoiser.enable_cache(step_cache_config(plan.step_cache, current_timestep))
        except (ValueError, TypeError, NotImplementedError) as error:
            raise ValueError(
                f"step cache {plan.step_cache.describe()} cannot run on {type(denoiser).__name__}: {error}"
            ) from None
    if plan.compile:
        assert plan.compile_cache_dir is not None  # speed_plan sets it whenever compile is on
        use_compile_cache(plan.compile_cache_dir)
        # regional compilation: the identical blocks share one compiled graph (minutes -> seconds)
        denoiser.compile_repeated_blocks(
            mode=None if plan.compile_mode == "default" else plan.compile_mode, fullgraph=False
        )
