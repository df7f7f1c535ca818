"""`ltx`: LTX-Video, text-to-video and image-to-video.

`LTXPipeline` for a prompt, `LTXImageToVideoPipeline` (sharing the same components) when
an input image is given. Loaded from a hub id or a local directory (setting ltx_model).
LTX needs width and height that are multiples of 32 and 8k+1 frames.
"""

from __future__ import annotations

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
    step_callback,
)
from service.backends.speed import apply_to_denoiser, running_timestep, speed_plan
from service.backends.weights import weights_availability

if TYPE_CHECKING:
    from service.settings import Settings


NAME = "ltx"


def info(settings: Settings) -> BackendInfo:
    return BackendInfo(
        name=NAME,
        description="LTX-Video (Lightricks), text-to-video and image-to-video",
        modes=(TEXT_TO_VIDEO, IMAGE_TO_VIDEO),
        source=settings.ltx_model,
        defaults={"num_frames": 97, "fps": 24, "width": 768, "height": 512, "num_inference_steps": 40, "guidance": 3.0},
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
        ),
        size_multiple=32,
        min_side=64,
        frames_rule="8k+1",
        extra={"speed": speed_plan(NAME, settings).describe(settings.dtype)},
    )


class LtxBackend:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.source = settings.ltx_model
        self.plan = speed_plan(NAME, settings)  # a bad speed setting fails here, at start-up
        self._lock = threading.Lock()
        # diffusers pipelines (untyped)
        self._text_to_video: Any = None
        self._image_to_video: Any = None

    def info(self) -> BackendInfo:
        return info(self.settings)

    def availability(self) -> tuple[bool, str]:
        if self._text_to_video is not None:
            return True, "loaded"
        return weights_availability(self.source, self.settings)

    @property
    def loaded(self) -> bool:
        return self._text_to_video is not None

    def load(self) -> None:
        import torch
        from diffusers import LTXImageToVideoPipeline, LTXPipeline

        with self._lock:
            if self._text_to_video is not None:
                return
            settings = self.settings
            pipeline = LTXPipeline.from_pretrained(
                self.source,
                dtype=getattr(torch, settings.dtype),
                revision=settings.model_revision or None,
                local_files_only=not settings.allow_downloads,
            )
            # the image pipeline shares this transformer: the timestep comes from whichever pipeline is running
            apply_to_denoiser(
                pipeline.transformer,
                lambda: running_timestep(self._text_to_video, self._image_to_video),
                self.plan,
                settings,
            )
            if settings.cpu_offload:
                pipeline.enable_model_cpu_offload(device=settings.device)
            else:
                pipeline.to(settings.device)
            if settings.vae_tiling:
                pipeline.vae.enable_tiling()
            pipeline.set_progress_bar_config(disable=True)
            image_pipeline: Any = LTXImageToVideoPipeline(**pipeline.components)  # its stub lacks the mixin's methods
            image_pipeline.set_progress_bar_config(disable=True)
            self._text_to_video, self._image_to_video = pipeline, image_pipeline

    def generate(self, request: GenerationInput, on_step: StepCallback) -> np.ndarray:
        import torch
        from PIL import Image

        self.load()
        assert request.num_inference_steps is not None and request.seed is not None  # resolved by the service
        arguments = dict(
            prompt=request.prompt,
            negative_prompt=request.negative_prompt,
            height=request.height,
            width=request.width,
            num_frames=request.num_frames,
            frame_rate=request.fps,
            num_inference_steps=request.num_inference_steps,
            guidance_scale=request.guidance,
            generator=torch.Generator(device="cpu").manual_seed(request.seed),
            output_type="np",
            callback_on_step_end=step_callback(on_step, request.num_inference_steps),
        )
        with torch.inference_mode():
            if request.image is not None:
                assert request.width is not None and request.height is not None
                image = Image.fromarray(cover(request.image, request.width, request.height))
                output = self._image_to_video(image=image, **arguments).frames
            else:
                output = self._text_to_video(**arguments).frames
        return frames_to_uint8(output)
