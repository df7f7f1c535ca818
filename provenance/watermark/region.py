"""Where the clip is in a frame that shows more than the clip: bars, a blurred copy of
itself behind it (portrait reposts), a static decorated border.

Detail (the high-pass of luma) and change over time mark the clip; bars have neither, a
blurred copy has little detail, a decoration does not move. Rows and columns whose share
of such samples is high enough bound the region. The region is a hypothesis the detector
decodes like a whole picture (its decodes are counted); nothing here uses the key.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

DETAIL_SIGMA = 1.5
ACTIVE_SHARE = 0.35  # of a row's (column's) samples that must be active for it to be inside
MIN_TRIM = 0.03  # a region must trim at least this much of some side to be worth a hypothesis
MIN_SIDE_SHARE = 0.3  # and keep at least this share of each side
DECIMATION = 2  # the region is found at half resolution, its edges then snapped at full
MAX_FRAMES = 8
SNAP = 6  # pixels either side of a coarse edge searched for the sharpest step


@dataclass(frozen=True)
class Region:
    top: int
    bottom: int  # exclusive
    left: int
    right: int  # exclusive


def _active(lumas: list[np.ndarray]) -> np.ndarray:
    stack = np.stack([y.astype(np.float32) for y in lumas])
    detail = np.mean([np.abs(y - cv2.GaussianBlur(y, (0, 0), DETAIL_SIGMA)) for y in stack], axis=0)
    change = stack.std(axis=0) if len(stack) > 1 else np.zeros_like(detail)
    moving = change > max(1.0, 0.5 * float(np.median(change))) if len(stack) > 1 else np.ones(detail.shape, bool)
    detailed = detail > max(0.5, 0.3 * float(np.median(detail)))
    return detailed & moving


def _span(share: np.ndarray) -> tuple[int, int]:
    inside = np.flatnonzero(share >= ACTIVE_SHARE)
    if inside.size == 0:
        return 0, share.size
    return int(inside[0]), int(inside[-1]) + 1


def _snap(profile: np.ndarray, coarse: int) -> int:
    """The position of the strongest step in a mean luma profile near `coarse`."""
    low, high = max(coarse - SNAP, 1), min(coarse + SNAP, profile.size - 1)
    if high <= low:
        return coarse
    steps = np.abs(np.diff(profile))[low - 1 : high]
    return low + int(np.argmax(steps))


def content_region(lumas: list[np.ndarray]) -> Region | None:
    """The rectangle holding the clip, or None when it seems to fill the frame."""
    if len(lumas) > MAX_FRAMES:
        lumas = [lumas[int(i)] for i in np.linspace(0, len(lumas) - 1, MAX_FRAMES).round()]
    full_height, full_width = lumas[0].shape
    small = [cv2.resize(y, (full_width // DECIMATION, full_height // DECIMATION), interpolation=cv2.INTER_AREA) for y in lumas]
    active = _active(small)
    height, width = active.shape
    top, bottom = _span(active.mean(axis=1))
    left, right = _span(active[top:bottom].mean(axis=0))
    top, bottom = _span(active[:, left:right].mean(axis=1))
    trimmed = max(top / height, 1 - bottom / height, left / width, 1 - right / width)
    if trimmed < MIN_TRIM or (bottom - top) < MIN_SIDE_SHARE * height or (right - left) < MIN_SIDE_SHARE * width:
        return None
    mean = np.mean([y.astype(np.float32) for y in lumas], axis=0)
    # step between the row (column) before and the one after the edge, mean over the region
    rows = mean[:, left * DECIMATION : right * DECIMATION].mean(axis=1)
    columns = mean[top * DECIMATION : bottom * DECIMATION].mean(axis=0)
    return Region(
        _snap(rows, top * DECIMATION) if top else 0,
        _snap(rows, bottom * DECIMATION) if bottom < height else full_height,
        _snap(columns, left * DECIMATION) if left else 0,
        _snap(columns, right * DECIMATION) if right < width else full_width,
    )
