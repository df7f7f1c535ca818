"""Geometric registration of a suspect clip against a key's pilot.

A clip may have been resized (handled by construction: the mark scales with the picture),
cropped (the tile then appears larger relative to the frame, and shifted), or mirrored.
The tile's scale is found by sweeping it and watching the pilot stand out; its shift and
orientation by a circular cross-correlation of the folded residual with the pilot and its
mirror image, refined to a fraction of a sample.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from provenance.watermark import analysis
from provenance.watermark.analysis import PERIOD
from provenance.watermark.layout import TileLayout

# Tile scales searched: a crop to 50 % of each side shows the tile 1/0.5 larger (VideoSeal's
# resized crop to 55 % is a zoom of 1.82; the range once stopped at 1.8 and missed it); below 1,
# a frame that shows more than the marked picture (padding, picture in picture). The range
# costs time, not false positives: only the SCALE_CANDIDATES best scales are decoded.
MIN_SCALE = 0.75
MAX_SCALE = 2.0
COARSE_RATIO = 1.01
FINE_STEP = 0.001
FINE_STEPS = 6  # either side of a coarse peak
SCALE_CANDIDATES = 2


@dataclass(frozen=True)
class Registration:
    scale: float  # tile period on the analysis grid, relative to an uncropped picture
    shift: tuple[float, float]  # (x, y) analysis samples from the grid origin to the tile origin
    mirrored: bool
    pilot_z: float  # pilot correlation peak in standard deviations of the correlation surface


def resample(residual: np.ndarray, scale: float, shift: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
    """The residual on a grid where the tile period is exactly PERIOD and starts at the origin."""
    if scale == 1.0 and shift == (0.0, 0.0):
        return residual
    height, width = residual.shape
    size = (max(int((width - shift[0]) / scale), 1), max(int((height - shift[1]) / scale), 1))
    to_source = np.array([[scale, 0, shift[0]], [0, scale, shift[1]]], np.float32)
    return cv2.warpAffine(
        residual, to_source, size, flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_CONSTANT
    )


def _peak_offset(surface: np.ndarray, y: int, x: int) -> tuple[float, float]:
    def vertex(left: float, centre: float, right: float) -> float:
        curvature = left - 2 * centre + right
        return float(np.clip(0.5 * (left - right) / curvature, -0.5, 0.5)) if curvature < 0 else 0.0

    size = surface.shape[0]
    dx = vertex(surface[y, (x - 1) % size], surface[y, x], surface[y, (x + 1) % size])
    dy = vertex(surface[(y - 1) % size, x], surface[y, x], surface[(y + 1) % size, x])
    return dx, dy


def _pilot_spectra(layout: TileLayout) -> np.ndarray:
    """Conjugate spectra of the pilot and of its mirror image, stacked."""
    pilot = analysis.upsample_tile(layout.pilot)
    mirrored = np.roll(pilot[:, ::-1], 1, axis=1)
    return np.conj(np.fft.rfft2(np.stack([pilot, mirrored])))


def _peak_z(residual: np.ndarray, scale: float, spectra: np.ndarray) -> float:
    """How strongly the pilot appears at this scale, at its best shift and orientation."""
    spectrum = np.fft.rfft2(analysis.fold(resample(residual, scale)))
    surfaces = np.fft.irfft2(spectrum * spectra, s=(PERIOD, PERIOD)).reshape(2, -1)
    spread = surfaces.std(axis=1)
    return float(np.max((surfaces.max(axis=1) - surfaces.mean(axis=1)) / np.where(spread > 0, spread, 1.0)))


def _curve_peaks(values: np.ndarray) -> list[int]:
    # smoothed along the scale axis: the peak height ripples with where the tile origin falls
    # between two grid samples
    smooth = np.convolve(np.pad(values, 1, mode="edge"), [0.25, 0.5, 0.25], mode="valid")
    peaks = [i for i in range(1, len(smooth) - 1) if smooth[i] > smooth[i - 1] and smooth[i] >= smooth[i + 1]]
    return sorted(peaks, key=lambda i: -smooth[i])


def scale_search(residual: np.ndarray, layout: TileLayout) -> list[float]:
    """Tile scales other than 1 at which the key's pilot stands out, best first: a coarse
    geometric sweep, then a finer one around each peak. Scales within 1 % of 1 are left to
    the whole-picture hypothesis."""
    spectra = _pilot_spectra(layout)
    count = int(np.log(MAX_SCALE / MIN_SCALE) / np.log(COARSE_RATIO)) + 1
    coarse = MIN_SCALE * COARSE_RATIO ** np.arange(count)
    strength = np.array([_peak_z(residual, scale, spectra) for scale in coarse])
    found: list[float] = []
    for index in _curve_peaks(strength):
        if abs(coarse[index] - 1.0) < 0.01:
            continue
        fine = coarse[index] * (1.0 + FINE_STEP * np.arange(-FINE_STEPS, FINE_STEPS + 1))
        fine_strength = np.array([_peak_z(residual, scale, spectra) for scale in fine])
        smooth = np.convolve(np.pad(fine_strength, 1, mode="edge"), [0.25, 0.5, 0.25], mode="valid")
        best = int(np.argmax(smooth))
        if 0 < best < len(fine) - 1:
            # the vertex of a parabola through the peak: the tile's scale to a fraction of a step
            left, centre, right = smooth[best - 1 : best + 2]
            curvature = left - 2 * centre + right
            offset = float(np.clip(0.5 * (left - right) / curvature, -0.5, 0.5)) if curvature < 0 else 0.0
            found.append(float(coarse[index] * (1.0 + FINE_STEP * (best - FINE_STEPS + offset))))
        else:
            found.append(float(fine[best]))
        if len(found) == SCALE_CANDIDATES:
            break
    return found


def _surfaces(residual: np.ndarray, scale: float, layout: TileLayout) -> np.ndarray:
    """Pilot correlation over every shift, unmirrored and mirrored: (2, PERIOD, PERIOD)."""
    spectrum = np.fft.rfft2(analysis.fold(resample(residual, scale)))
    return np.fft.irfft2(spectrum * _pilot_spectra(layout), s=(PERIOD, PERIOD))


def register_picture(
    residual: np.ndarray, layout: TileLayout, candidates: int = 2
) -> tuple[Registration, list[Registration]]:
    """For a frame that shows the whole marked picture (scale 1): the nominal registration, where
    the tile lies in the picture as it was marked (no shift, unmirrored) and which is decoded even
    when the clip's own content throws up stronger chance peaks, and the pilot's best peaks."""
    surfaces = _surfaces(residual, 1.0, layout)
    surface = surfaces[0]
    spread = float(surface.std()) or 1.0
    nominal = Registration(1.0, (0.0, 0.0), False, float((surface[0, 0] - surface.mean()) / spread))
    return nominal, _peaks(surfaces, 1.0, candidates)


def register(residual: np.ndarray, scale: float, layout: TileLayout, candidates: int = 2) -> list[Registration]:
    """Best tile positions (and orientations) for the key's pilot at one scale, strongest first."""
    return _peaks(_surfaces(residual, scale, layout), scale, candidates)


def _peaks(surfaces: np.ndarray, scale: float, candidates: int) -> list[Registration]:
    found = []
    for mirrored, surface in zip((False, True), surfaces, strict=True):
        spread = float(surface.std()) or 1.0
        for flat in np.argsort(surface, axis=None)[::-1][: candidates * 4]:
            y, x = divmod(int(flat), PERIOD)
            dx, dy = _peak_offset(surface, y, x)
            z = float((surface[y, x] - surface.mean()) / spread)
            found.append(Registration(scale, (x + dx, y + dy), mirrored, z))
    found.sort(key=lambda r: -r.pilot_z)
    chosen: list[Registration] = []
    for registration in found:
        # neighbouring samples of one peak are one hypothesis, not several
        if all(not same_peak(registration, other) for other in chosen):
            chosen.append(registration)
        if len(chosen) == candidates:
            break
    return chosen


def same_peak(a: Registration, b: Registration) -> bool:
    if a.mirrored != b.mirrored:
        return False
    distance = [abs((p - q + PERIOD / 2) % PERIOD - PERIOD / 2) for p, q in zip(a.shift, b.shift, strict=True)]
    return max(distance) < 2.0


# ---------------------------------------------------------------- affine registration
# After the spectrum has given the lattice's rotation (modulo a quarter turn) and period
# (lattice.py), eight orientations remain: the tile may have been turned by quarter turns
# and mirrored. Each is tried against the pilot; the pilot also gives the shift.

_QUARTER = np.array([[0.0, -1.0], [1.0, 0.0]])
_MIRROR = np.array([[-1.0, 0.0], [0.0, 1.0]])
ORIENTATIONS = tuple(
    np.linalg.matrix_power(_QUARTER, turns) @ (_MIRROR if mirrored else np.eye(2))
    for mirrored in (False, True)
    for turns in range(4)
)
MASK_MARGIN = 2  # samples next to the frame's edge, where the whitening sees the edge itself


@dataclass(frozen=True)
class AffineRegistration:
    """Where the tile lies in the picture grid: picture (x, y) = matrix @ (u, v, 1), with the
    tile's origin at u = v = 0 and PERIOD samples per tile along u and v."""

    matrix: tuple[tuple[float, float, float], tuple[float, float, float]]
    pilot_z: float
    lattice_score: float

    @property
    def scale(self) -> float:
        return float(np.sqrt(abs(np.linalg.det(np.asarray(self.matrix)[:, :2]))))

    @property
    def angle(self) -> float:
        linear = np.asarray(self.matrix)[:, :2]
        return float(np.degrees(np.arctan2(linear[1, 0], linear[0, 0])))

    @property
    def mirrored(self) -> bool:
        return bool(np.linalg.det(np.asarray(self.matrix)[:, :2]) < 0)

    @property
    def shift(self) -> tuple[float, float]:
        return (float(self.matrix[0][2]), float(self.matrix[1][2]))


def warp_to_tile(image: np.ndarray, matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`image` (on the picture grid, or any grid `matrix` maps to) sampled on the tile grid:
    output index (i, j) is tile coordinate (u0 + j, v0 + i), u0 and v0 multiples of PERIOD so
    that folding keeps the tile's phase; and the mask of samples that fell inside the image."""
    height, width = image.shape
    corners = np.array([[0, 0], [width - 1, 0], [0, height - 1], [width - 1, height - 1]], np.float64)
    linear, offset = matrix[:, :2], matrix[:, 2]
    inverse = np.linalg.inv(linear)
    uv = (corners - offset) @ inverse.T
    low = np.floor(uv.min(axis=0) / PERIOD) * PERIOD
    high = np.ceil(uv.max(axis=0)) + 1
    size = (int(high[0] - low[0]), int(high[1] - low[1]))
    to_source = np.hstack([linear, (offset + linear @ low)[:, None]]).astype(np.float32)
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    warped = cv2.warpAffine(
        image.astype(np.float32, copy=False), to_source, size, flags=flags, borderMode=cv2.BORDER_CONSTANT
    )
    inside = cv2.warpAffine(
        np.ones_like(image, np.float32), to_source, size, flags=cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP
    )
    return warped, inside


def fold_masked(residual: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Average of the PERIOD x PERIOD blocks over the samples the mask keeps."""
    height, width = residual.shape
    rows, cols = -(-height // PERIOD), -(-width // PERIOD)
    padded = np.zeros((rows * PERIOD, cols * PERIOD), np.float32)
    weights = np.zeros_like(padded)
    padded[:height, :width] = residual * mask
    weights[:height, :width] = mask
    total = padded.reshape(rows, PERIOD, cols, PERIOD).sum(axis=(0, 2))
    count = weights.reshape(rows, PERIOD, cols, PERIOD).sum(axis=(0, 2))
    return total / np.maximum(count, 1.0)


def erode_mask(mask: np.ndarray) -> np.ndarray:
    return cv2.erode(mask, np.ones((2 * MASK_MARGIN + 1, 2 * MASK_MARGIN + 1), np.uint8))


def affine_rows(matrix: np.ndarray) -> tuple[tuple[float, float, float], tuple[float, float, float]]:
    """A 2x3 matrix as the nested tuples a registration stores."""
    (a, b, c), (d, e, f) = matrix.tolist()
    return (a, b, c), (d, e, f)


def lattice_registration(lattice) -> AffineRegistration:
    """The lattice's tile grid, unturned, unmirrored, unshifted: where the clip is sampled
    before the pilot decides orientation and shift."""
    rotation = np.array(
        [[np.cos(lattice.angle), -np.sin(lattice.angle)], [np.sin(lattice.angle), np.cos(lattice.angle)]]
    )
    matrix = np.hstack([lattice.scale * rotation, np.zeros((2, 1))])
    return AffineRegistration(affine_rows(matrix), 0.0, lattice.score)


def compose(outer: AffineRegistration, inner: np.ndarray, pilot_z: float) -> AffineRegistration:
    """`inner` (tile coordinates -> `outer`'s tile grid) followed by `outer`."""
    first = np.asarray(outer.matrix)
    matrix = np.hstack([first[:, :2] @ inner[:, :2], (first[:, :2] @ inner[:, 2] + first[:, 2])[:, None]])
    return AffineRegistration(affine_rows(matrix), pilot_z, outer.lattice_score)


def register_orientations(
    residual: np.ndarray, mask: np.ndarray, layout: TileLayout, candidates: int = 2
) -> list[tuple[float, np.ndarray]]:
    """On a residual already sampled on a lattice's tile grid: the best (orientation, shift)
    registrations of the key's pilot, strongest first, as (pilot z, 2x3 matrix from tile
    coordinates to that grid). The eight orientations map the grid onto itself, so each is
    an exact re-indexing, not an interpolation."""
    pilot = np.conj(np.fft.rfft2(analysis.upsample_tile(layout.pilot)))
    found: list[tuple[float, np.ndarray]] = []
    for orientation in ORIENTATIONS:
        linear = orientation
        warped, inside = warp_to_tile(residual * mask, np.hstack([linear, np.zeros((2, 1))]))
        weights, _ = warp_to_tile(mask, np.hstack([linear, np.zeros((2, 1))]))
        folded = fold_masked(warped, weights * inside)
        surface = np.fft.irfft2(np.fft.rfft2(folded) * pilot, s=(PERIOD, PERIOD))
        spread = float(surface.std()) or 1.0
        for flat in np.argsort(surface, axis=None)[::-1][:1]:  # one peak per orientation
            y, x = divmod(int(flat), PERIOD)
            dx, dy = _peak_offset(surface, y, x)
            z = float((surface[y, x] - surface.mean()) / spread)
            shift = linear @ np.array([x + dx, y + dy])
            found.append((z, np.hstack([linear, shift[:, None]])))
    found.sort(key=lambda item: -item[0])
    return found[:candidates]
