"""`wan`: Wan 2.1 / 2.2 (Alibaba), text-to-video and image-to-video.

`WanPipeline` for a prompt, `WanImageToVideoPipeline` when an input image is given. Which
release runs is a setting (wan_variant): the 1.3B (text only), the 14B pair, the TI2V-5B (one
model does both: its image pipeline shares the text pipeline's components) or the 2.2 A14B
pair (two experts, switched at the checkpoint's boundary). wan_model / wan_i2v_model override
the variant's hub ids with another id or a local directory.

Wan's VAE compresses time 4x, so clips have 4k+1 frames; width and height must be multiples
of the VAE's spatial factor times the transformer's patch (8 x 2 = 16, or 16 x 2 = 32 for the
TI2V-5B). The sampler is flow matching (UniPC); flow_shift moves its sigma schedule towards
noise (the authors use 3 at 480p, 5 at 720p); leaving it out keeps the checkpoint's own.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
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
    step_callback,
)
from service.backends.speed import apply_to_denoiser, running_timestep, speed_plan
from service.backends.weights import weights_availability

if TYPE_CHECKING:
    from service.settings import Settings


NAME = "wan"
TEMPORAL_COMPRESSION = 4


@dataclass(frozen=True)
class WanVariant:
    key: str
    description: str
    text_model: str  # Diffusers repository on the hub; "" when the release has no such model
    image_model: str
    size_multiple: int  # VAE spatial factor x transformer patch
    width: int
    height: int
    num_frames: int  # what it was trained for
    fps: int
    num_inference_steps: int
    guidance: float


VARIANTS = {
    variant.key: variant
    for variant in (
        WanVariant(
            "2.1-1.3b", "Wan 2.1 T2V 1.3B (480p)", "Wan-AI/Wan2.1-T2V-1.3B-Diffusers", "", 16, 832, 480, 81, 16, 50, 5.0
        ),
        WanVariant(
            "2.1-14b",
            "Wan 2.1 14B (720p)",
            "Wan-AI/Wan2.1-T2V-14B-Diffusers",
            "Wan-AI/Wan2.1-I2V-14B-720P-Diffusers",
            16,
            1280,
            720,
            81,
            16,
            50,
            5.0,
        ),
        WanVariant(
            "2.2-ti2v-5b",
            "Wan 2.2 TI2V 5B (720p, text and image in one model)",
            "Wan-AI/Wan2.2-TI2V-5B-Diffusers",
            "Wan-AI/Wan2.2-TI2V-5B-Diffusers",
            32,
            1280,
            704,
            121,
            24,
            50,
            5.0,
        ),
        WanVariant(
            "2.2-a14b",
            "Wan 2.2 A14B (720p, two experts)",
            "Wan-AI/Wan2.2-T2V-A14B-Diffusers",
            "Wan-AI/Wan2.2-I2V-A14B-Diffusers",
            16,
            1280,
            720,
            81,
            16,
            40,
            4.0,
        ),
    )
}


def variant(settings: Settings) -> WanVariant:
    try:
        return VARIANTS[settings.wan_variant]
    except KeyError:
        raise ValueError(
            f"ORIGINFRAME_WAN_VARIANT={settings.wan_variant!r}; use one of {', '.join(VARIANTS)}"
        ) from None


def sources(settings: Settings) -> tuple[str, str]:
    """(text-to-video source, image-to-video source); "" where the deployment has none."""
    chosen = variant(settings)
    return settings.wan_model or chosen.text_model, settings.wan_i2v_model or chosen.image_model


def info(settings: Settings) -> BackendInfo:
    chosen = variant(settings)
    text_source, image_source = sources(settings)
    modes = tuple(mode for mode, source in ((TEXT_TO_VIDEO, text_source), (IMAGE_TO_VIDEO, image_source)) if source)
    return BackendInfo(
        name=NAME,
        description=chosen.description,
        modes=modes,
        source=" + ".join(dict.fromkeys(source for source in (text_source, image_source) if source)),
        defaults={
            "num_frames": chosen.num_frames,
            "fps": chosen.fps,
            "width": chosen.width,
            "height": chosen.height,
            "num_inference_steps": chosen.num_inference_steps,
            "guidance": chosen.guidance,
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
        size_multiple=chosen.size_multiple,
        min_side=max(64, 2 * chosen.size_multiple),  # 64: the smallest frame the watermark can carry
        frames_rule=f"{TEMPORAL_COMPRESSION}k+1",
        max_frames=chosen.num_frames,
        extra={
            "variant": chosen.key,
            "speed": speed_plan(NAME, settings).describe(settings.dtype),
            "sources": {
                mode: source
                for mode, source in ((TEXT_TO_VIDEO, text_source), (IMAGE_TO_VIDEO, image_source))
                if source
            },
        },
    )


class WanBackend:
    """Loads the configured pipelines once; one generation at a time (the scheduler is swapped per request)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.variant = variant(settings)
        self.text_source, self.image_source = sources(settings)
        self.plan = speed_plan(NAME, settings)  # a bad speed setting fails here, at start-up
        self._lock = threading.Lock()
        # diffusers pipelines (untyped)
        self._text_to_video: Any = None
        self._image_to_video: Any = None
        self._scheduler_config: dict[int, Any] | None = None

    def info(self) -> BackendInfo:
        return info(self.settings)

    def availability(self) -> tuple[bool, str]:
        if self.loaded:
            return True, "loaded"
        reasons = []
        for source in dict.fromkeys(s for s in (self.text_source, self.image_source) if s):
            available, reason = weights_availability(source, self.settings)
            if not available:
                return False, reason
            reasons.append(reason)
        return True, "; ".join(reasons)

    @property
    def loaded(self) -> bool:
        return self._text_to_video is not None or self._image_to_video is not None

    def _from_pretrained(self, pipeline_class, source: str):
        import torch

        settings = self.settings
        return pipeline_class.from_pretrained(
            source,
            dtype=getattr(torch, settings.dtype),
            revision=settings.model_revision or None,
            local_files_only=not settings.allow_downloads,
        )

    def _prepare(self, pipeline) -> None:
        settings = self.settings
        for denoiser in (pipeline.transformer, getattr(pipeline, "transformer_2", None)):
            if denoiser is not None:
                # the TI2V-5B's two pipelines share this transformer: the timestep comes from whichever is running
                apply_to_denoiser(
                    denoiser, lambda: running_timestep(self._text_to_video, self._image_to_video), self.plan, settings
                )
        if settings.cpu_offload:
            pipeline.enable_model_cpu_offload(device=settings.device)
        else:
            pipeline.to(settings.device)
        if settings.vae_tiling:
            pipeline.vae.enable_tiling()
        pipeline.set_progress_bar_config(disable=True)

    def _check_geometry(self, pipeline, source: str) -> None:
        """The variant's size rule must be the model's, or requests would pass validation and fail on the GPU."""
        patch = (
            pipeline.transformer.config.patch_size[1]
            if pipeline.transformer is not None
            else pipeline.transformer_2.config.patch_size[1]
        )
        multiple = pipeline.vae_scale_factor_spatial * patch
        if multiple != self.variant.size_multiple or pipeline.vae_scale_factor_temporal != TEMPORAL_COMPRESSION:
            raise ValueError(
                f"{source} has sides in multiples of {multiple} and {pipeline.vae_scale_factor_temporal}k+1 frames, but "
                f"ORIGINFRAME_WAN_VARIANT={self.variant.key} expects {self.variant.size_multiple} and {TEMPORAL_COMPRESSION}k+1; "
                "set the variant that matches the weights"
            )

    def load(self) -> None:
        from diffusers import WanImageToVideoPipeline, WanPipeline

        with self._lock:
            if self.loaded:
                return
            text_to_video: Any = None
            image_to_video: Any = None
            if self.text_source:
                text_to_video = self._from_pretrained(WanPipeline, self.text_source)
                self._check_geometry(text_to_video, self.text_source)
            if self.image_source and self.image_source == self.text_source:
                # one model for both (the TI2V-5B): the image pipeline reuses the same modules
                image_to_video = WanImageToVideoPipeline(
                    **text_to_video.components,
                    boundary_ratio=text_to_video.config.boundary_ratio,
                    expand_timesteps=text_to_video.config.expand_timesteps,
                )
            elif self.image_source:
                image_to_video = self._from_pretrained(WanImageToVideoPipeline, self.image_source)
                self._check_geometry(image_to_video, self.image_source)
            for pipeline in dict.fromkeys(p for p in (text_to_video, image_to_video) if p is not None):
                if pipeline is image_to_video and image_to_video.transformer is getattr(
                    text_to_video, "transformer", None
                ):
                    image_to_video.set_progress_bar_config(disable=True)
                    continue  # shared modules were prepared with the text pipeline
                self._prepare(pipeline)
            self._scheduler_config = {
                id(pipeline): pipeline.scheduler.config
                for pipeline in (text_to_video, image_to_video)
                if pipeline is not None
            }
            self._text_to_video, self._image_to_video = text_to_video, image_to_video

    def _pipeline_for(self, request: GenerationInput):
        pipeline = self._image_to_video if request.image is not None else self._text_to_video
        if pipeline is None:
            raise ValueError(f"this deployment's Wan ({self.variant.key}) has no {request.mode} model")
        assert self._scheduler_config is not None  # set by load() with the pipelines
        # a fresh scheduler each call: flow_shift is part of the schedule, and the last request's must not leak
        base = self._scheduler_config[id(pipeline)]
        changes = {"flow_shift": float(request.flow_shift)} if request.flow_shift is not None else {}
        pipeline.scheduler = type(pipeline.scheduler).from_config(base, **changes)
        return pipeline

    def generate(self, request: GenerationInput, on_step: StepCallback) -> np.ndarray:
        import torch
        from PIL import Image

        self.load()
        assert request.num_inference_steps is not None and request.seed is not None  # resolved by the service
        arguments = dict(
            prompt=request.prompt or "",
            negative_prompt=request.negative_prompt,
            height=request.height,
            width=request.width,
            num_frames=request.num_frames,
            num_inference_steps=request.num_inference_steps,
            guidance_scale=request.guidance,
            generator=torch.Generator(device="cpu").manual_seed(request.seed),
            output_type="np",
            callback_on_step_end=step_callback(on_step, request.num_inference_steps),
        )
        with self._lock, torch.inference_mode():
            pipeline = self._pipeline_for(request)
            if request.image is not None:
                assert request.width is not None and request.height is not None
                image = Image.fromarray(cover(request.image, request.width, request.height))
                output = pipeline(image=image, **arguments).frames
            else:
                output = pipeline(**arguments).frames
        return frames_to_uint8(output)
