"""The detector's view of a frame, shared with the embedder (which predicts what the
detector will read): luma on a grid of two samples per mark sample, whitened, folded
onto one tile period, and matched-filtered back to one value per tile sample."""

from __future__ import annotations

import cv2
import numpy as np

from provenance.watermark.layout import CODED_BITS, TILE, TileLayout

# Mark samples across the shorter side of the picture. The mark is defined relative to the
# picture, so a resized copy carries it at the same relative scale. Clips use a coarse grid
# (8 px per sample at 576p): codecs keep coarse patterns, and content interference averages
# out over frames. A still has one frame to average, so it uses a grid twice as fine, which
# has four times the samples per bit and meets less interference from the picture itself.
CLIP_GRID = 72
STILL_GRID = 144
MIN_SIDE = 64
OVERSAMPLE = 2
PERIOD = TILE * OVERSAMPLE  # one tile on the analysis grid
HIGHPASS_SIGMA = 1.2
NORMALISE_SIGMA = 4.0
NOISE_FLOOR = 0.5
CLIP = 3.0


def mark_pitch(height: int, width: int, grid: int) -> float:
    """Frame pixels per mark sample for a picture of this size."""
    return min(height, width) / grid


def picture_step(height: int, width: int, grid: int) -> float:
    """Frame pixels per analysis sample when the frame shows the whole marked picture."""
    return mark_pitch(height, width, grid) / OVERSAMPLE


def sample_grid(
    image: np.ndarray, step: float, offset: tuple[float, float], size: tuple[int, int] | None = None
) -> np.ndarray:
    """`image` sampled at x = offset_x + step*u, y = offset_y + step*v, float32.
    Box-averaging by the whole part of the step first is both the anti-alias filter and most
    of the work, done by OpenCV's fast area decimation; a bilinear warp does the rest."""
    height, width = image.shape[:2]
    if size is None:
        size = (max(int((width - 0.5 - offset[0]) / step) + 1, 1), max(int((height - 0.5 - offset[1]) / step) + 1, 1))
    factor = max(int(step), 1)
    if factor > 1:
        image = image[: height // factor * factor, : width // factor * factor]
        image = cv2.resize(image, (width // factor, height // factor), interpolation=cv2.INTER_AREA)
    # a decimated pixel i averages frame pixels [i*factor, (i+1)*factor), centred on i*factor + (factor-1)/2
    to_source = np.array(
        [
            [step / factor, 0, (offset[0] - (factor - 1) / 2) / factor],
            [0, step / factor, (offset[1] - (factor - 1) / 2) / factor],
        ],
        np.float32,
    )
    return cv2.warpAffine(
        image.astype(np.float32, copy=False),
        to_source,
        size,
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_REFLECT,
    )


def to_grid(image: np.ndarray, height: int, width: int, grid: int) -> np.ndarray:
    """A full-frame image on the analysis grid of the whole picture: grid sample 2j lies on
    mark sample j, whose centre the embedder puts at frame pixel (j + 0.5) * pitch - 0.5."""
    step = picture_step(height, width, grid)
    return sample_grid(image, step, (step - 0.5, step - 0.5))


def luma(frame: np.ndarray) -> np.ndarray:
    # any weights summing to one see the full mark, which changes R, G and B equally
    return cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)


def whiten(grid: np.ndarray) -> np.ndarray:
    """High-pass, then divide by the local residual energy, so textured areas (where content
    dominates) and flat areas (where the mark dominates) count alike; clipped against edges."""
    residual = grid - cv2.GaussianBlur(grid, (0, 0), HIGHPASS_SIGMA)
    energy = cv2.GaussianBlur(residual * residual, (0, 0), NORMALISE_SIGMA)
    normalised = residual / np.sqrt(energy + NOISE_FLOOR**2)
    return np.clip(normalised, -CLIP, CLIP)


def frame_residual(frame: np.ndarray, grid: int) -> np.ndarray:
    height, width = frame.shape[:2]
    return whiten(to_grid(luma(frame), height, width, grid))


def fold(residual: np.ndarray) -> np.ndarray:
    """Average of all PERIOD x PERIOD blocks, block (0, 0) at the grid origin."""
    height, width = residual.shape
    rows, cols = -(-height // PERIOD), -(-width // PERIOD)
    padded = np.zeros((rows * PERIOD, cols * PERIOD), np.float32)
    padded[:height, :width] = residual
    counts = np.zeros_like(padded)
    counts[:height, :width] = 1.0
    total = padded.reshape(rows, PERIOD, cols, PERIOD).sum(axis=(0, 2))
    count = counts.reshape(rows, PERIOD, cols, PERIOD).sum(axis=(0, 2))
    return total / np.maximum(count, 1.0)


def _smooth_periodic(grid: np.ndarray) -> np.ndarray:
    # [0.5, 1, 0.5] along both axes: the bilinear kernel seen at two samples per mark sample
    grid = grid + 0.5 * (np.roll(grid, 1, 0) + np.roll(grid, -1, 0))
    return grid + 0.5 * (np.roll(grid, 1, 1) + np.roll(grid, -1, 1))


def sample_values(folded: np.ndarray) -> np.ndarray:
    """Matched filter for the bilinear mark: one value per tile sample from an aligned folded tile."""
    return _smooth_periodic(folded)[::OVERSAMPLE, ::OVERSAMPLE]


def upsample_tile(tile: np.ndarray) -> np.ndarray:
    """The tile as the analysis grid sees it (bilinear, periodic)."""
    grid = np.zeros((PERIOD, PERIOD), np.float32)
    grid[::OVERSAMPLE, ::OVERSAMPLE] = tile
    return _smooth_periodic(grid)


def soft_bits(values: np.ndarray, layout: TileLayout) -> np.ndarray:
    weights = (values * layout.payload_signs).ravel()
    return np.bincount(layout.bit_of_sample, weights=weights, minlength=CODED_BITS + 1)[:CODED_BITS]
