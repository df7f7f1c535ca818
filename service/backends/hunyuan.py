"""`hunyuan`: HunyuanVideo 1.5 (Tencent), text-to-video and image-to-video.

`HunyuanVideo15Pipeline` for a prompt (setting hunyuan_model), the separate
`HunyuanVideo15ImageToVideoPipeline` checkpoint when an input image is given
(hunyuan_i2v_model; empty: text only). Hub ids or local directories.

The VAE compresses 16x in space and 4x in time and the transformer's patch is 1, so clips
have 4k+1 frames and sides in multiples of 16. Guidance is a guider component
(classifier-free guidance), rebuilt per request with the request's scale; flow_shift is the
flow-matching scheduler's shift (the authors use 5 at 480p; leaving it out keeps the
checkpoint's own). The image-to-video pipeline chooses its own size — the bucket of the
checkpoint's trained area nearest the image's aspect ratio — so the image is first cropped to
the requested aspect and the frames are resized to the requested size at the end.
"""

from __future__ import annotations

import functools
import threading
from typing import TYPE_CHECKING, Any

import numpy as np

from service.backends.contract import (
    IMAGE_TO_VIDEO,
    TEXT_TO_VIDEO,
    BackendInfo,
    GenerationInput,
    StepCallback,
    cover,
    frames_to_uint8,
    resize_frames,
)
from service.backends.speed import StepCacheKind, apply_to_denoiser, speed_plan
from service.backends.weights import weights_availability

if TYPE_CHECKING:
    from service.settings import Settings


NAME = "hunyuan"
TEMPORAL_COMPRESSION = 4
SIZE_MULTIPLE = 16  # VAE spatial factor 16 x patch 1
TRAINED_FRAMES = 121


def info(settings: Settings) -> BackendInfo:
    sources = [source for source in (settings.hunyuan_model, settings.hunyuan_i2v_model) if source]
    modes = tuple(
        mode
        for mode, source in ((TEXT_TO_VIDEO, settings.hunyuan_model), (IMAGE_TO_VIDEO, settings.hunyuan_i2v_model))
        if source
    )
    return BackendInfo(
        name=NAME,
        description="HunyuanVideo 1.5 (Tencent, 8.3B), text-to-video and image-to-video",
        modes=modes,
        source=" + ".join(sources),
        defaults={
            "num_frames": TRAINED_FRAMES,
            "fps": 24,
            "width": 848,
            "height": 480,
            "num_inference_steps": 50,
            "guidance": 6.0,
        },
        parameters=(
            "prompt",
            "negative_prompt",
            "image",
            "num_frames",
            "fps",
            "width",
            "height",
            "num_inference_steps",
            "seed",
            "guidance",
            "flow_shift",
        ),
        size_multiple=SIZE_MULTIPLE,
        min_side=64,  # the smallest frame the watermark can carry
        frames_rule=f"{TEMPORAL_COMPRESSION}k+1",
        max_frames=TRAINED_FRAMES,
        extra={
            "speed": speed_plan(NAME, settings).describe(settings.dtype),
            "sources": {
                mode: source
                for mode, source in (
                    (TEXT_TO_VIDEO, settings.hunyuan_model),
                    (IMAGE_TO_VIDEO, settings.hunyuan_i2v_model),
                )
                if source
            },
        },
    )


def _counting_steps(scheduler, on_step: StepCallback, total: int):
    """HunyuanVideo15Pipeline takes no callback_on_step_end; its scheduler's step() runs once per
    denoising step, so progress and cancellation hook in there (raising stops between steps)."""
    original = scheduler.step
    done = 0

    def step(*arguments, **keywords):
        nonlocal done
        result = original(*arguments, **keywords)
        done += 1
        on_step(done, total)
        return result

    scheduler.step = step
    return scheduler


class HunyuanBackend:
    """Loads the configured pipelines once; one generation at a time (scheduler and guider are per request)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.text_source = settings.hunyuan_model
        self.image_source = settings.hunyuan_i2v_model
        self.plan = speed_plan(NAME, settings)  # a bad speed setting fails here, at start-up
        if self.plan.step_cache is not None and self.plan.step_cache.kind is StepCacheKind.FIRST_BLOCK:
            # diffusers' first-block cache needs the block class in its registry; HunyuanVideo 1.5's is not there
            raise ValueError(
                "ORIGINFRAME_STEP_CACHE: hunyuan cannot take first-block (HunyuanVideo 1.5's blocks are not in "
                "diffusers' block registry); use taylorseer or pyramid-attention"
            )
        self._lock = threading.Lock()
        self._pipelines: dict[str, Any] = {}  # diffusers pipelines (untyped)
        self._base_configs: dict[str, tuple] = {}

    def info(self) -> BackendInfo:
        return info(self.settings)

    def availability(self) -> tuple[bool, str]:
        if self.loaded:
            return True, "loaded"
        reasons = []
        for source in (s for s in (self.text_source, self.image_source) if s):
            available, reason = weights_availability(source, self.settings)
            if not available:
                return False, reason
            reasons.append(reason)
        return True, "; ".join(reasons) or "no model configured"

    @property
    def loaded(self) -> bool:
        return bool(self._pipelines)

    def load(self) -> None:
        import torch
        from diffusers import HunyuanVideo15ImageToVideoPipeline, HunyuanVideo15Pipeline

        with self._lock:
            if self._pipelines:
                return
            settings = self.settings
            pipelines: dict[str, Any] = {}
            for mode, pipeline_class, source in (
                (TEXT_TO_VIDEO, HunyuanVideo15Pipeline, self.text_source),
                (IMAGE_TO_VIDEO, HunyuanVideo15ImageToVideoPipeline, self.image_source),
            ):
                if not source:
                    continue
                pipeline: Any = pipeline_class.from_pretrained(
                    source,
                    dtype=getattr(torch, settings.dtype),
                    revision=settings.model_revision or None,
                    local_files_only=not settings.allow_downloads,
                )
                if pipeline.vae_scale_factor_spatial * pipeline.transformer.config.patch_size != SIZE_MULTIPLE:
                    raise ValueError(
                        f"{source} is not a HunyuanVideo 1.5 layout (VAE x{pipeline.vae_scale_factor_spatial}, "
                        f"patch {pipeline.transformer.config.patch_size}); sides must come out in multiples of {SIZE_MULTIPLE}"
                    )
                # read at each step: diffusers sets current_timestep while the pipeline denoises
                apply_to_denoiser(
                    pipeline.transformer, functools.partial(getattr, pipeline, "current_timestep"), self.plan, settings
                )
                if settings.cpu_offload:
                    pipeline.enable_model_cpu_offload(device=settings.device)
                else:
                    pipeline.to(settings.device)
                if settings.vae_tiling:
                    pipeline.vae.enable_tiling()
                pipeline.set_progress_bar_config(disable=True)
                pipelines[mode] = pipeline
                self._base_configs[mode] = (pipeline.scheduler.config, pipeline.guider.config)
            self._pipelines = pipelines

    def generate(self, request: GenerationInput, on_step: StepCallback) -> np.ndarray:
        import torch
        from PIL import Image

        self.load()
        pipeline = self._pipelines.get(request.mode)
        if pipeline is None:
            raise ValueError(
                f"this deployment's HunyuanVideo 1.5 has no {request.mode} model (setting hunyuan_i2v_model)"
            )
        scheduler_config, guider_config = self._base_configs[request.mode]
        # resolved by the service before a job runs
        assert request.width is not None and request.height is not None
        assert request.num_inference_steps is not None and request.seed is not None
        arguments = dict(
            prompt=request.prompt or "",
            negative_prompt=request.negative_prompt,
            num_frames=request.num_frames,
            num_inference_steps=request.num_inference_steps,
            generator=torch.Generator(device="cpu").manual_seed(request.seed),
            output_type="np",
        )
        with self._lock, torch.inference_mode():
            # fresh per request: the last request's shift, scale and step counter must not leak into this one
            changes = {"shift": float(request.flow_shift)} if request.flow_shift is not None else {}
            pipeline.scheduler = _counting_steps(
                type(pipeline.scheduler).from_config(scheduler_config, **changes), on_step, request.num_inference_steps
            )
            pipeline.guider = type(pipeline.guider).from_config(guider_config, guidance_scale=request.guidance)
            if request.image is not None:
                image = Image.fromarray(cover(request.image, request.width, request.height))
                output = pipeline(image=image, **arguments).frames
            else:
                output = pipeline(height=request.height, width=request.width, **arguments).frames
        return resize_frames(frames_to_uint8(output), request.width, request.height)
