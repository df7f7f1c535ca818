"""`svd` and `svd-xt`: Stable Video Diffusion, image-to-video.

Loaded with `StableVideoDiffusionPipeline.from_pretrained` from a hub id (when downloads
are allowed or the weights are already cached) or a local directory (settings
svd_model / svd_xt_model). SVD conditions on fps, motion_bucket_id and
noise_aug_strength; it takes no text, so a prompt is refused rather than ignored.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

import numpy as np

from service.backends.contract import (
    IMAGE_TO_VIDEO,
    BackendInfo,
    GenerationInput,
    StepCallback,
    cover,
    frames_to_uint8,
    step_callback,
)
from service.backends.speed import speed_plan, use_compile_cache
from service.backends.weights import weights_availability

if TYPE_CHECKING:
    from service.settings import Settings


VARIANTS: dict[str, dict[str, Any]] = {
    "svd": {"setting": "svd_model", "num_frames": 14, "description": "Stable Video Diffusion (14 frames)"},
    "svd-xt": {"setting": "svd_xt_model", "num_frames": 25, "description": "Stable Video Diffusion XT (25 frames)"},
}


def info(settings: Settings, name: str) -> BackendInfo:
    variant = VARIANTS[name]
    return BackendInfo(
        name=name,
        description=variant["description"],
        modes=(IMAGE_TO_VIDEO,),
        source=getattr(settings, variant["setting"]),
        defaults={
            "num_frames": variant["num_frames"],
            "fps": 7,
            "width": 1024,
            "height": 576,
            "num_inference_steps": 25,
            "motion_bucket_id": 127,
            "noise_aug_strength": 0.02,
            "guidance": 3.0,
        },
        parameters=(
            "image",
            "num_frames",
            "fps",
            "width",
            "height",
            "num_inference_steps",
            "seed",
            "motion_bucket_id",
            "noise_aug_strength",
            "guidance",
        ),
        size_multiple=8,
        min_side=64,
        frames_rule="any",
        uses_prompt=False,
        extra={"speed": speed_plan(name, settings).describe(settings.dtype)},
    )


class SvdBackend:
    def __init__(self, settings: Settings, name: str = "svd") -> None:
        self.settings = settings
        self.name = name
        self.source = getattr(settings, VARIANTS[name]["setting"])
        self.plan = speed_plan(name, settings)
        if self.plan.step_cache is not None:  # diffusers' cache hooks are for transformers; SVD's denoiser is a UNet
            raise ValueError(
                f"ORIGINFRAME_STEP_CACHE: {name} has a UNet, which diffusers' step caches do not support; remove {name} from it"
            )
        self._lock = threading.Lock()
        self._pipeline: Any = None  # a diffusers pipeline (untyped)

    def info(self) -> BackendInfo:
        return info(self.settings, self.name)

    def availability(self) -> tuple[bool, str]:
        if self._pipeline is not None:
            return True, "loaded"
        return weights_availability(self.source, self.settings)

    @property
    def loaded(self) -> bool:
        return self._pipeline is not None

    def load(self) -> None:
        import torch
        from diffusers import StableVideoDiffusionPipeline

        with self._lock:
            if self._pipeline is not None:
                return
            settings = self.settings
            pipeline = StableVideoDiffusionPipeline.from_pretrained(
                self.source,
                dtype=getattr(torch, settings.dtype),
                revision=settings.model_revision or None,
                local_files_only=not settings.allow_downloads,
            )
            if settings.cpu_offload:
                pipeline.enable_model_cpu_offload(device=settings.device)
            else:
                pipeline.to(settings.device)
            if self.plan.fp8_denoiser:
                pipeline.unet.enable_layerwise_casting(
                    storage_dtype=torch.float8_e4m3fn, compute_dtype=getattr(torch, settings.dtype)
                )
            if settings.torch_compile:
                # the UNet's blocks differ in width, so there is no repeated block to compile once; what cuts the
                # per-start cost is the on-disk cache, which a restarted worker reads instead of compiling again
                assert self.plan.compile_cache_dir is not None  # speed_plan sets it whenever torch_compile is on
                use_compile_cache(self.plan.compile_cache_dir)
                pipeline.unet.compile(mode=None if self.plan.compile_mode == "default" else self.plan.compile_mode)
            pipeline.set_progress_bar_config(disable=True)
            self._pipeline = pipeline

    def generate(self, request: GenerationInput, on_step: StepCallback) -> np.ndarray:
        import torch
        from PIL import Image

        self.load()
        # image-to-video only: the service resolves the image, the size, the steps and the seed before this
        assert request.image is not None and request.width is not None and request.height is not None
        assert request.num_inference_steps is not None and request.seed is not None
        image = Image.fromarray(cover(request.image, request.width, request.height))
        with torch.inference_mode():
            output = self._pipeline(
                image=image,
                height=request.height,
                width=request.width,
                num_frames=request.num_frames,
                num_inference_steps=request.num_inference_steps,
                min_guidance_scale=1.0,
                max_guidance_scale=request.guidance,
                fps=request.fps,
                motion_bucket_id=request.motion_bucket_id,
                noise_aug_strength=request.noise_aug_strength,
                decode_chunk_size=self.settings.decode_chunk_size,
                generator=torch.Generator(device="cpu").manual_seed(request.seed),
                output_type="np",
                callback_on_step_end=step_callback(on_step, request.num_inference_steps),
            ).frames
        return frames_to_uint8(output)
