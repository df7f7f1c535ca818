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
    small = [
        cv2.resize(y, (full_width // DECIMATION, full_height // DECIMATION), interpolation=cv2.INTER_AREA)
        for y in lumas
    ]
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


# ---------------------------------------------------------------- an inset over other footage
# A picture-in-picture sits over footage that moves as much as it does, so neither detail nor
# change tells them apart. Its edges do: a static straight boundary, sharp in every frame,
# while the content's own edges move. In the mean over frames of the gradient's magnitude the
# boundary is a ridge one sample wide along the inset's sides; moving edges smear out.
INSET_DECIMATION = 2
INSET_CANDIDATES = 8  # columns (rows) with the most ridge samples, paired into rectangles
RIDGE_LEVEL = 1.5  # a ridge sample exceeds its neighbours by this many times the median gradient
INSET_MIN_SIDE = 0.25  # of the frame's side
INSET_MEAN_SUPPORT = 0.5  # share of each side's samples on a ridge, on average over the four sides
INSET_MIN_SUPPORT = 0.25  # and on the weakest side


def _ridges(mean_gradient: np.ndarray, axis: int, level: float) -> np.ndarray:
    before, after = np.roll(mean_gradient, 3, axis=axis), np.roll(mean_gradient, -3, axis=axis)
    return (mean_gradient - np.maximum(before, after)) > RIDGE_LEVEL * level


def _side_support(ridge: np.ndarray, line: int, low: int, high: int) -> float:
    """Share of samples low..high-1 along `line` (a column of `ridge`, or the one beside it) on a ridge."""
    near = ridge[low:high, max(line - 1, 0) : line + 2]
    return float(near.any(axis=1).mean()) if high > low else 0.0


def inset_regions(lumas: list[np.ndarray], count: int = 2) -> list[Region]:
    """The likeliest rectangles of a picture-in-picture (or any inset with straight static
    edges), best first: at most `count`, none when no rectangle's sides are ridges enough."""
    if len(lumas) > MAX_FRAMES:
        lumas = [lumas[int(i)] for i in np.linspace(0, len(lumas) - 1, MAX_FRAMES).round()]
    full_height, full_width = lumas[0].shape
    size = (full_width // INSET_DECIMATION, full_height // INSET_DECIMATION)
    small = [cv2.resize(y, size, interpolation=cv2.INTER_AREA).astype(np.float32) for y in lumas]
    # differences across two samples, so that an edge the decimation split between two
    # samples is still one ridge; entry c is centred on sample c + 1
    across = np.mean([np.abs(y[:, 2:] - y[:, :-2]) for y in small], axis=0)  # (h, w - 2)
    down = np.mean([np.abs(y[2:] - y[:-2]) for y in small], axis=0)  # (h - 2, w)
    level = float(np.median(across)) + 1e-3
    vertical, horizontal = _ridges(across, 1, level), _ridges(down, 0, level)
    columns = np.argsort(vertical.mean(axis=0))[::-1][:INSET_CANDIDATES]
    rows = np.argsort(horizontal.mean(axis=1))[::-1][:INSET_CANDIDATES]
    height, width = size[1], size[0]
    scored: list[tuple[float, tuple[int, int, int, int]]] = []
    for left in columns:
        for right in columns:
            if right - left < INSET_MIN_SIDE * width:
                continue
            for top in rows:
                for bottom in rows:
                    if bottom - top < INSET_MIN_SIDE * height:
                        continue
                    # the boundary lies at about sample c + 1 of the decimated frame (snapped at full resolution below)
                    sides = [
                        _side_support(vertical, int(left), int(top) + 1, int(bottom) + 1),
                        _side_support(vertical, int(right), int(top) + 1, int(bottom) + 1),
                        _side_support(horizontal.T, int(top), int(left) + 1, int(right) + 1),
                        _side_support(horizontal.T, int(bottom), int(left) + 1, int(right) + 1),
                    ]
                    score = float(np.mean(sides))
                    if min(sides) >= INSET_MIN_SUPPORT and score >= INSET_MEAN_SUPPORT:
                        scored.append((score, (int(top) + 1, int(bottom) + 1, int(left) + 1, int(right) + 1)))
    scored.sort(key=lambda item: -item[0])
    mean = np.mean([y.astype(np.float32) for y in lumas], axis=0)
    found: list[Region] = []
    for _, rectangle in scored:
        top, bottom, left, right = (INSET_DECIMATION * v for v in rectangle)
        if (bottom - top) > (1 - MIN_TRIM) * full_height and (right - left) > (1 - MIN_TRIM) * full_width:
            continue
        rows_profile = mean[:, left:right].mean(axis=1)
        columns_profile = mean[top:bottom].mean(axis=0)
        region = Region(
            _snap(rows_profile, top),
            _snap(rows_profile, bottom),
            _snap(columns_profile, left),
            _snap(columns_profile, right),
        )
        # rectangles that share three sides are one inset measured twice
        if all(
            sum(abs(a - b) > 2 * SNAP for a, b in zip(region.__dict__.values(), other.__dict__.values(), strict=True))
            > 1
            for other in found
        ):
            found.append(region)
        if len(found) == count:
            break
    return found
