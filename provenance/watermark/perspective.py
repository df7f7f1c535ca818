"""Perspective: a registration that bends across the picture (a phone filming a screen at an
angle, a keystone correction, a perspective warp in an editor).

Under perspective the tile lattice is no longer one lattice: its period and angle drift from
one side of the picture to the other, so no single affine grid lines the whole picture up
with the tile, and the folded pilot blurs. Locally it still is one: over a tile-sized block
the perspective is close to affine. So, starting from a registration that is roughly right
(the picture as marked, or a lattice the spectrum found), the picture is sampled on the
current grid, each tile-sized block's own pilot correlation gives how far the tile is
shifted there, and a homography fitted to those local shifts (RANSAC, so a block whose peak
is chance does not pull it) becomes the next grid. A few rounds converge; the final grid is
decoded like any other registration.

Only pilot samples steer this, so under the null the grid knows nothing of the payload; the
final decode is what the false-positive count charges (detect.py: PERSPECTIVE_HYPOTHESES).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np
import scipy.fft

from provenance.watermark import analysis
from provenance.watermark.analysis import PERIOD
from provenance.watermark.layout import TileLayout
from provenance.watermark.sync import fold_masked

BLOCK_STRIDE = PERIOD // 2  # blocks are one tile, overlapping by half
SEARCH_RADIUS = 20  # samples either way a block's tile may sit from where the grid puts it
BLOCK_MIN_Z = 4.0  # a block's pilot peak must reach this (in the surface's spread) to count
BLOCK_MIN_INSIDE = 0.6  # share of a block that must come from inside the frame
MIN_BLOCKS_HOMOGRAPHY = 6  # fewer agreeing blocks fit an affine map, fewer than 3 nothing
RANSAC_THRESHOLD = 2.0  # picture-grid samples
FIRST_THRESHOLD = 3.0  # the first round's blocks were measured on a grid that was further off
ITERATIONS = 4
CONVERGED = 0.25  # median block shift (samples) below which the grid is left as it is
MAX_GROWTH = 4.0
MAX_SCALE_CHANGE = 1.25
# The first round from a grid that may be far off (the picture as marked, under perspective):
# local corrections in steps of CORRECTION_STEP (a block lines up within about half a step),
# stretches of one step either way, shears for corners moved up to PERSPECTIVE of each side.
PERSPECTIVE = 0.08
CORRECTION_STEP = 0.12
CORRECTION_SPAN = 0.16
BLOCK_SEARCH_MIN_Z = 4.0
SEARCH_STRIDE = BLOCK_STRIDE  # per round, at the blocks' centre  # a grid that needs more than this many times the frame's samples is degenerate


@dataclass(frozen=True)
class ProjectiveRegistration:
    """Where the tile lies in the picture grid: picture (x, y, 1) ~ matrix @ (u, v, 1), the
    tile's origin at u = v = 0 and PERIOD samples per tile along u and v, near the picture's
    centre."""

    matrix: tuple[tuple[float, float, float], tuple[float, float, float], tuple[float, float, float]]
    pilot_z: float
    blocks: int  # tile-sized blocks whose pilot agreed with the fitted grid

    def _jacobian(self) -> np.ndarray:
        return np.asarray(self.matrix)[:2, :2] / self.matrix[2][2]

    @property
    def scale(self) -> float:
        return float(np.sqrt(abs(np.linalg.det(self._jacobian()))))

    @property
    def angle(self) -> float:
        linear = self._jacobian()
        return float(np.degrees(np.arctan2(linear[1, 0], linear[0, 0])))

    @property
    def mirrored(self) -> bool:
        return bool(np.linalg.det(self._jacobian()) < 0)

    @property
    def shift(self) -> tuple[float, float]:
        h = np.asarray(self.matrix)
        return (float(h[0, 2] / h[2, 2]), float(h[1, 2] / h[2, 2]))


def as_projective(matrix: np.ndarray) -> np.ndarray:
    """A 2x3 affine map as a 3x3 one (a 3x3 is returned as it is)."""
    matrix = np.asarray(matrix, np.float64)
    return matrix if matrix.shape == (3, 3) else np.vstack([matrix, [0.0, 0.0, 1.0]])


def apply(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    mapped = np.hstack([points, np.ones((len(points), 1))]) @ matrix.T
    return mapped[:, :2] / mapped[:, 2:3]


def jacobian(matrix: np.ndarray, point: np.ndarray) -> np.ndarray:
    """The 2x2 derivative of the homography at `point`."""
    x, y = point
    top = matrix[:2, 0] * x + matrix[:2, 1] * y + matrix[:2, 2]
    bottom = matrix[2, 0] * x + matrix[2, 1] * y + matrix[2, 2]
    return (matrix[:2, :2] * bottom - np.outer(top, matrix[2, :2])) / bottom**2


def warp_to_tile(image: np.ndarray, matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """`image` sampled on the tile grid of the homography `matrix` (tile -> image pixels):
    output index (i, j) is tile coordinate (u0 + j, v0 + i), u0 and v0 multiples of PERIOD;
    the mask of samples inside the image; and (u0, v0). None when the map is degenerate."""
    height, width = image.shape
    corners = np.array([[0, 0], [width - 1, 0], [0, height - 1], [width - 1, height - 1]], np.float64)
    try:
        inverse = np.linalg.inv(matrix)
    except np.linalg.LinAlgError:
        return None
    mapped = np.hstack([corners, np.ones((4, 1))]) @ inverse.T
    if np.any(mapped[:, 2] * np.sign(inverse[2, 2] or 1.0) <= 1e-9):
        return None  # a corner behind the camera: not a picture of a plane
    uv = mapped[:, :2] / mapped[:, 2:3]
    low = np.floor(uv.min(axis=0) / PERIOD) * PERIOD
    high = np.ceil(uv.max(axis=0)) + 1
    size = (int(high[0] - low[0]), int(high[1] - low[1]))
    if (
        size[0] <= 0
        or size[1] <= 0
        or size[0] * size[1]
        > MAX_GROWTH * height * width / max(abs(np.linalg.det(matrix[:2, :2])), 1e-6) + 4 * PERIOD * PERIOD
    ):
        return None
    to_source = (matrix @ np.array([[1.0, 0.0, low[0]], [0.0, 1.0, low[1]], [0.0, 0.0, 1.0]])).astype(np.float64)
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    warped = cv2.warpPerspective(
        image.astype(np.float32, copy=False), to_source, size, flags=flags, borderMode=cv2.BORDER_CONSTANT
    )
    inside = cv2.warpPerspective(
        np.ones_like(image, np.float32), to_source, size, flags=cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP
    )
    return warped, inside, low


@lru_cache(maxsize=16)
def _spectrum_of(pilot: bytes) -> np.ndarray:
    tile = np.frombuffer(pilot, np.float32).reshape(analysis.PERIOD // analysis.OVERSAMPLE, -1)
    return np.conj(np.fft.rfft2(analysis.upsample_tile(tile)))


def _pilot_spectrum(layout: TileLayout) -> np.ndarray:
    return _spectrum_of(layout.pilot.astype(np.float32).tobytes())


def pilot_z(residual: np.ndarray, weights: np.ndarray, layout: TileLayout) -> tuple[float, tuple[float, float]]:
    """The pilot's peak near the grid's own origin (within SEARCH_RADIUS) in the residual
    folded over the weighted samples, in standard deviations of the whole correlation
    surface, and the peak's (x, y) offset."""
    return _peak_near_origin(fold_masked(residual, weights), layout)


def _peak_near_origin(folded: np.ndarray, layout: TileLayout) -> tuple[float, tuple[float, float]]:
    surface = np.fft.irfft2(np.fft.rfft2(folded) * _pilot_spectrum(layout), s=(PERIOD, PERIOD))
    spread = float(surface.std()) or 1.0
    near = np.roll(surface, (SEARCH_RADIUS, SEARCH_RADIUS), axis=(0, 1))[
        : 2 * SEARCH_RADIUS + 1, : 2 * SEARCH_RADIUS + 1
    ]
    y, x = np.unravel_index(int(np.argmax(near)), near.shape)
    z = float((near[y, x] - surface.mean()) / spread)
    dx, dy = _vertex(near, y, x)
    return z, (x - SEARCH_RADIUS + dx, y - SEARCH_RADIUS + dy)


def _vertex(surface: np.ndarray, y: int | np.integer, x: int | np.integer) -> tuple[float, float]:
    def offset(left: float, centre: float, right: float) -> float:
        curvature = left - 2 * centre + right
        return float(np.clip(0.5 * (left - right) / curvature, -0.5, 0.5)) if curvature < 0 else 0.0

    height, width = surface.shape
    dx = offset(surface[y, x - 1], surface[y, x], surface[y, x + 1]) if 0 < x < width - 1 else 0.0
    dy = offset(surface[y - 1, x], surface[y, x], surface[y + 1, x]) if 0 < y < height - 1 else 0.0
    return dx, dy


def block_shifts(
    residual: np.ndarray, mask: np.ndarray, low: np.ndarray, layout: TileLayout
) -> tuple[np.ndarray, np.ndarray]:
    """For each tile-sized block (half-tile stride) whose pilot stands out: its centre in tile
    coordinates and how far its tile sits from where the grid puts it, as ((n, 2), (n, 2))."""
    height, width = residual.shape
    masked = residual * mask
    centres, shifts = [], []
    for top in range(0, max(height - PERIOD, 0) + 1, BLOCK_STRIDE):
        for left in range(0, max(width - PERIOD, 0) + 1, BLOCK_STRIDE):
            inside = mask[top : top + PERIOD, left : left + PERIOD]
            if inside.shape != (PERIOD, PERIOD) or float(inside.mean()) < BLOCK_MIN_INSIDE:
                continue
            # the block in the tile's phase (the grid's origin is a whole number of tiles)
            folded = np.roll(
                masked[top : top + PERIOD, left : left + PERIOD], (top % PERIOD, left % PERIOD), axis=(0, 1)
            )
            z, shift = _peak_near_origin(folded, layout)
            if z >= BLOCK_MIN_Z:
                centres.append((low[0] + left + PERIOD / 2, low[1] + top + PERIOD / 2))
                shifts.append(shift)
    return np.asarray(centres, np.float64).reshape(-1, 2), np.asarray(shifts, np.float64).reshape(-1, 2)


def corrections(height: int, width: int) -> np.ndarray:
    """Local linear corrections (2x2, tile grid -> current grid) tried on every block when a
    grid is far off: under perspective a block's tile is sheared and stretched, not only
    shifted, and a tile-sized block's pilot only lines up within a few per cent. Corners
    moved by up to PERSPECTIVE of each side shear x by up to about twice that times the
    picture's aspect ratio, y by twice that over it."""
    stretch = np.arange(-1, 2) * CORRECTION_STEP
    span_x = min(2 * PERSPECTIVE * width / height, 2 * CORRECTION_SPAN)
    span_y = min(2 * PERSPECTIVE * height / width, 2 * CORRECTION_SPAN)
    shear_x = np.arange(-np.floor(span_x / CORRECTION_STEP), np.floor(span_x / CORRECTION_STEP) + 1) * CORRECTION_STEP
    shear_y = np.arange(-np.floor(span_y / CORRECTION_STEP), np.floor(span_y / CORRECTION_STEP) + 1) * CORRECTION_STEP
    grid = np.array(np.meshgrid(stretch, shear_x, shear_y, stretch, indexing="ij")).reshape(4, -1).T
    return np.array([[[1 + a, b], [c, 1 + d]] for a, b, c, d in grid])


def block_search(
    residual: np.ndarray, mask: np.ndarray, low: np.ndarray, layouts: list[TileLayout], linear: np.ndarray
) -> list[tuple[np.ndarray, np.ndarray]]:
    """block_shifts for a grid that may be far off: every block is also sampled under each of
    the local corrections `linear` (about its own centre), and the strongest pilot peak over
    them counts (it must clear BLOCK_SEARCH_MIN_Z: more tries, higher chance peaks). One
    result per layout; the blocks' spectra are shared between keys."""
    height, width = residual.shape
    masked = (residual * mask).astype(np.float32)
    half = PERIOD / 2
    found: list[tuple[list, list]] = [([], []) for _ in layouts]
    spectra = [_pilot_spectrum(layout) for layout in layouts]
    for top in range(0, max(height - PERIOD, 0) + 1, SEARCH_STRIDE):
        for left in range(0, max(width - PERIOD, 0) + 1, SEARCH_STRIDE):
            inside = mask[top : top + PERIOD, left : left + PERIOD]
            if inside.shape != (PERIOD, PERIOD) or float(inside.mean()) < BLOCK_MIN_INSIDE:
                continue
            centre = np.array([left + half, top + half])
            patches = np.empty((len(linear), PERIOD, PERIOD), np.float32)
            for index, matrix in enumerate(linear):
                to_source = np.hstack([matrix, (centre - matrix @ [half, half])[:, None]]).astype(np.float32)
                patches[index] = cv2.warpAffine(
                    masked, to_source, (PERIOD, PERIOD), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
                )
            patches = np.roll(patches, (top % PERIOD, left % PERIOD), axis=(1, 2))
            transformed = scipy.fft.rfft2(patches, workers=1)
            for (centres, shifts), pilot in zip(found, spectra, strict=True):
                surfaces = scipy.fft.irfft2(transformed * pilot.astype(np.complex64), s=(PERIOD, PERIOD), workers=1)
                near = np.roll(surfaces, (SEARCH_RADIUS, SEARCH_RADIUS), axis=(1, 2))[
                    :, : 2 * SEARCH_RADIUS + 1, : 2 * SEARCH_RADIUS + 1
                ]
                spread = surfaces.reshape(len(linear), -1).std(axis=1)
                z = (
                    near.reshape(len(linear), -1).max(axis=1) - surfaces.reshape(len(linear), -1).mean(axis=1)
                ) / np.maximum(spread, 1e-12)
                best = int(np.argmax(z))
                if z[best] < BLOCK_SEARCH_MIN_Z:
                    continue
                y, x = np.unravel_index(int(np.argmax(near[best])), near.shape[1:])
                dx, dy = _vertex(near[best], y, x)
                # the corrected block is sampled in tile units about its centre, so the peak's
                # offset is the tile coordinate the grid gets wrong there
                centres.append((low[0] + left + half, low[1] + top + half))
                shifts.append((x - SEARCH_RADIUS + dx, y - SEARCH_RADIUS + dy))
    return [(np.asarray(c, np.float64).reshape(-1, 2), np.asarray(t, np.float64).reshape(-1, 2)) for c, t in found]


def fit(
    matrix: np.ndarray,
    centres: np.ndarray,
    shifts: np.ndarray,
    threshold: float = RANSAC_THRESHOLD,
    projective: bool = True,
) -> tuple[np.ndarray, int] | None:
    """The grid that puts each block's tile where its pilot says: tile coordinate
    centre - shift lies at picture point matrix(centre). The richest model the blocks
    support: a homography when enough agree, else an affine map, a similarity, a shift (a
    row of blocks along one edge cannot say how the grid bends across it); with it, how
    many blocks it fits. `projective=False` stops at an affine map (the first round, whose
    blocks are noisier)."""
    if len(centres) == 0:
        return None
    source = (centres - shifts).astype(np.float32)
    target = apply(matrix, centres).astype(np.float32)
    middle = centres.mean(axis=0)
    for model in _MODELS if projective else _MODELS[1:]:
        fitted, inliers = model(source, target, threshold)
        if fitted is None or inliers is None or abs(fitted[2, 2]) < 1e-12:
            continue
        fitted = fitted / fitted[2, 2]
        # a round refines the grid; one that rescales it wholesale or folds it over is a bad fit
        before, after = np.linalg.det(jacobian(matrix, middle)), np.linalg.det(jacobian(fitted, middle))
        if np.isfinite(after) and after * before > 0 and MAX_SCALE_CHANGE**-2 < after / before < MAX_SCALE_CHANGE**2:
            return fitted, int(inliers.sum())
    return None


def _homography(source: np.ndarray, target: np.ndarray, threshold: float):
    if len(source) < MIN_BLOCKS_HOMOGRAPHY:
        return None, None
    fitted, inliers = cv2.findHomography(source, target, cv2.RANSAC, threshold)
    return (fitted, inliers) if inliers is not None and int(inliers.sum()) >= MIN_BLOCKS_HOMOGRAPHY else (None, None)


def _affine(source: np.ndarray, target: np.ndarray, threshold: float):
    if len(source) < 4:
        return None, None
    fitted, inliers = cv2.estimateAffine2D(source, target, method=cv2.RANSAC, ransacReprojThreshold=threshold)
    if fitted is None or int(inliers.sum()) < 4 or abs(np.linalg.det(fitted[:, :2])) < 1e-9:
        return None, None
    # collinear inliers leave the direction across them free
    spread = np.linalg.svd(source[inliers.ravel() > 0] - source[inliers.ravel() > 0].mean(axis=0), compute_uv=False)
    return (as_projective(fitted), inliers) if spread[-1] > 0.25 * PERIOD else (None, None)


def _similarity(source: np.ndarray, target: np.ndarray, threshold: float):
    if len(source) < 2:
        return None, None
    fitted, inliers = cv2.estimateAffinePartial2D(source, target, method=cv2.RANSAC, ransacReprojThreshold=threshold)
    if fitted is None or int(inliers.sum()) < 2:
        return None, None
    return as_projective(fitted), inliers


def _shift(source: np.ndarray, target: np.ndarray, threshold: float):
    offset = np.median(target - source, axis=0)
    inliers = np.hypot(*(target - source - offset).T) <= threshold
    fitted = np.array([[1.0, 0.0, offset[0]], [0.0, 1.0, offset[1]], [0.0, 0.0, 1.0]])
    return fitted, inliers.astype(np.uint8)


_MODELS = (_homography, _affine, _similarity, _shift)
