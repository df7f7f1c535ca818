"""The visible "AI-generated" label burned into frames for `allow_with_label` decisions.

White text on a dark, mostly opaque box in a corner, sized relative to the frame height so
it stays legible after downscaling (at least ~12 px text on small frames). The label is
rendered once and alpha-blended into every frame, so it costs a few milliseconds per clip.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np

from .errors import ScreeningInputError

__all__ = ["CORNERS", "DEFAULT_LABEL", "burn_label"]

DEFAULT_LABEL = "AI-generated"
CORNERS = ("bottom-right", "bottom-left", "top-right", "top-left")
_BOX_OPACITY = 0.78


@lru_cache(maxsize=32)
def _render(text: str, frame_height: int) -> tuple[np.ndarray, np.ndarray]:
    """(RGB patch, alpha mask in [0, 1]) for the label at a given frame height."""
    from PIL import Image, ImageDraw, ImageFont

    size = max(12, round(frame_height * 0.045))
    try:
        font = ImageFont.load_default(size=size)
    except TypeError:  # Pillow without FreeType: fixed bitmap font, still legible
        font = ImageFont.load_default()
    left, top, right, bottom = font.getbbox(text)
    pad = max(4, size // 3)
    w, h = int(right - left) + 2 * pad, int(bottom - top) + 2 * pad  # Pillow's boxes are whole pixels
    patch = Image.new("RGB", (w, h), (16, 16, 16))
    text_mask = Image.new("L", (w, h), 0)
    ImageDraw.Draw(patch).text((pad - left, pad - top), text, font=font, fill=(255, 255, 255))
    ImageDraw.Draw(text_mask).text((pad - left, pad - top), text, font=font, fill=255)
    alpha = np.maximum(np.asarray(text_mask, dtype=np.float32) / 255.0, _BOX_OPACITY)
    return np.asarray(patch, dtype=np.float32), alpha[..., None]


def _place(frame_shape: tuple[int, ...], patch_shape: tuple[int, ...], corner: str) -> tuple[int, int]:
    fh, fw = frame_shape[:2]
    ph, pw = patch_shape[:2]
    margin = max(4, round(fh * 0.02))
    x = fw - pw - margin if corner.endswith("right") else margin
    y = fh - ph - margin if corner.startswith("bottom") else margin
    return max(0, x), max(0, y)


def _burn_one(frame: np.ndarray, text: str, corner: str) -> np.ndarray:
    patch, alpha = _render(text, frame.shape[0])
    x, y = _place(frame.shape, patch.shape, corner)
    ph = min(patch.shape[0], frame.shape[0] - y)
    pw = min(patch.shape[1], frame.shape[1] - x)
    out = frame.copy()
    region = out[y : y + ph, x : x + pw].astype(np.float32)
    a = alpha[:ph, :pw]
    out[y : y + ph, x : x + pw] = np.round(region * (1 - a) + patch[:ph, :pw] * a).astype(np.uint8)
    return out


def burn_label(frames: Any, text: str = DEFAULT_LABEL, *, corner: str = "bottom-right") -> Any:
    """Return copies of the frames with a visible label burned in.

    Accepts what the pipeline produces: one HxWx3 uint8 frame, a TxHxWx3 uint8 array, or a
    sequence of HxWx3 uint8 frames (numpy arrays or PIL images); returns the same kind.
    """
    if corner not in CORNERS:
        raise ScreeningInputError(f"corner must be one of {', '.join(CORNERS)}, got {corner!r}")
    if not text or not text.strip():
        raise ScreeningInputError("label text must not be empty")
    if isinstance(frames, np.ndarray):
        if frames.dtype != np.uint8 or frames.ndim not in (3, 4) or frames.shape[-1] != 3:
            raise ScreeningInputError(f"frames must be uint8 HxWx3 or TxHxWx3, got {frames.dtype} {frames.shape}")
        if frames.ndim == 3:
            return _burn_one(frames, text, corner)
        return np.stack([_burn_one(f, text, corner) for f in frames])
    if isinstance(frames, Sequence) or hasattr(frames, "__iter__"):
        from PIL import Image

        out: list[Image.Image | np.ndarray] = []
        for f in frames:
            if isinstance(f, Image.Image):
                out.append(Image.fromarray(_burn_one(np.asarray(f.convert("RGB")), text, corner)))
            elif isinstance(f, np.ndarray) and f.dtype == np.uint8 and f.ndim == 3 and f.shape[-1] == 3:
                out.append(_burn_one(f, text, corner))
            else:
                raise ScreeningInputError("each frame must be a uint8 HxWx3 array or a PIL image")
        return out
    raise ScreeningInputError(f"cannot label frames of type {type(frames).__name__}")
