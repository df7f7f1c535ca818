"""What every generation backend takes and gives back. Data, not a base class."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

TEXT_TO_VIDEO = "text-to-video"
IMAGE_TO_VIDEO = "image-to-video"

# on_step(steps_done, steps_total); raising GenerationCancelled from it stops the pipeline between steps
StepCallback = Callable[[int, int], None]


class GenerationCancelled(Exception):
    """Raised from the step callback when the job was cancelled."""


@dataclass
class GenerationInput:
    prompt: str | None = None
    negative_prompt: str | None = None
    image: np.ndarray | None = None  # RGB uint8 (H, W, 3)
    num_frames: int | None = None
    fps: int | None = None
    width: int | None = None
    height: int | None = None
    num_inference_steps: int | None = None
    seed: int | None = None
    motion_bucket_id: int | None = None
    noise_aug_strength: float | None = None
    guidance: float | None = None
    flow_shift: float | None = None  # flow-matching models (wan, hunyuan): the sigma schedule's shift

    @property
    def mode(self) -> str:
        return IMAGE_TO_VIDEO if self.image is not None else TEXT_TO_VIDEO


@dataclass
class BackendInfo:
    """What a backend offers; the service validates requests against it."""

    name: str
    description: str
    modes: tuple[str, ...]
    source: str  # hub id or local directory
    defaults: dict[str, Any]
    parameters: tuple[str, ...]  # the request parameters this model uses
    size_multiple: int  # width and height must be multiples of this
    min_side: int
    frames_rule: str  # "any" or "8k+1" and so on, explained in errors
    uses_prompt: bool = True
    max_frames: int | None = None  # the most frames the model was trained for, when below the deployment's limit
    extra: dict[str, Any] = field(
        default_factory=dict
    )  # "speed": the speed plan; "sources": {mode: source} when they differ


def frames_to_uint8(frames: Any) -> np.ndarray:
    """Pipeline output (float in [0, 1], (T, H, W, 3)) -> uint8 frames, rounded."""
    array = np.asarray(frames)
    if array.ndim == 5:  # (batch, T, H, W, C)
        array = array[0]
    if array.dtype != np.uint8:
        array = np.clip(np.rint(array.astype(np.float32) * 255.0), 0, 255).astype(np.uint8)
    return np.ascontiguousarray(array)


def resize_frames(frames: np.ndarray, width: int, height: int) -> np.ndarray:
    """Resize every frame to width x height (bicubic up, area down)."""
    import cv2

    if frames.shape[1] == height and frames.shape[2] == width:
        return frames
    upscale = width * height > frames.shape[1] * frames.shape[2]
    interpolation = cv2.INTER_CUBIC if upscale else cv2.INTER_AREA
    return np.stack([cv2.resize(frame, (width, height), interpolation=interpolation) for frame in frames])


def cover(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """Scale and centre-crop an image to exactly width x height, keeping its aspect ratio."""
    import cv2

    source_height, source_width = image.shape[:2]
    scale = max(width / source_width, height / source_height)
    resized = cv2.resize(
        image,
        (max(width, round(source_width * scale)), max(height, round(source_height * scale))),
        interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC,
    )
    top = (resized.shape[0] - height) // 2
    left = (resized.shape[1] - width) // 2
    return resized[top : top + height, left : left + width]


def frames_rule_step(rule: str) -> int | None:
    """The k in a "k*n+1" frames rule ("8k+1" -> 8), None for "any"."""
    if rule.endswith("k+1") and rule[:-3].isdigit():
        return int(rule[:-3])
    return None


def step_callback(on_step: StepCallback, total: int) -> Callable:
    """Adapt on_step to diffusers' callback_on_step_end signature."""

    def callback(pipeline: Any, step: int, timestep: Any, tensors: dict) -> dict:
        on_step(step + 1, total)
        return tensors

    return callback
