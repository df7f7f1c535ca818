"""A suspect clip as the detector sees it: luma of the analysed frames, whitened residuals
on each profile's picture grid, and residuals aligned to a registration's tile grid."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from provenance.watermark import analysis, perspective, sync

PROFILES = {"clip": analysis.CLIP_GRID, "still": analysis.STILL_GRID}
REGION_GAIN = 0.3


@dataclass
class AlignedResiduals:
    """Residuals on a grid whose tile period is PERIOD, with the tile origin `roll` samples in."""

    residuals: list[np.ndarray]
    roll: tuple[int, int]  # (rows, columns)

    def tile(self, mirrored: bool, frames: slice = slice(None), weights: np.ndarray | None = None) -> np.ndarray:
        chosen = self.residuals[frames]
        if weights is not None:
            combined = np.tensordot(weights / weights.sum(), np.stack(chosen), axes=1).astype(np.float32)
        else:
            combined = np.mean(chosen, axis=0) if len(chosen) > 1 else chosen[0]
        folded = np.roll(analysis.fold(combined), (-self.roll[0], -self.roll[1]), axis=(0, 1))
        return np.roll(folded[:, ::-1], 1, axis=1) if mirrored else folded

    def pilot_weights(self, mirrored: bool, pilot: np.ndarray) -> np.ndarray | None:
        """Per-frame weights: the frame's pilot gain over its noise power (zero when negative).
        They use pilot samples only, so under the null they know nothing of the payload signs."""
        gains, powers = [], []
        norm = float(np.sum(pilot * pilot))
        for index in range(len(self.residuals)):
            values = analysis.sample_values(self.tile(mirrored, slice(index, index + 1)))
            gains.append(float(np.sum(values * pilot)) / norm)
            powers.append(float(np.var(values)) or 1.0)
        weights = np.maximum(np.asarray(gains), 0.0) / np.asarray(powers)
        return weights if weights.sum() > 0 and len(weights) > 1 else None


@dataclass
class AffineAligned:
    """Residuals on the tile grid of an affine registration (tile origin at the grid origin),
    with the mask of samples that came from inside the frame; same use as AlignedResiduals."""

    residuals: list[np.ndarray]
    mask: np.ndarray

    def tile(
        self, mirrored: bool = False, frames: slice = slice(None), weights: np.ndarray | None = None
    ) -> np.ndarray:
        # `mirrored` is part of the registration's matrix already
        chosen = self.residuals[frames]
        if weights is not None:
            combined = np.tensordot(weights / weights.sum(), np.stack(chosen), axes=1).astype(np.float32)
        else:
            combined = np.mean(chosen, axis=0) if len(chosen) > 1 else chosen[0]
        return sync.fold_masked(combined, self.mask)

    def mean(self) -> np.ndarray:
        return np.mean(self.residuals, axis=0) if len(self.residuals) > 1 else self.residuals[0]

    def block_weighted(self, pilot: np.ndarray) -> AffineAligned:
        """The same residuals restricted to the tile-sized blocks where the pilot is: each
        block's pilot gain, smoothed over its neighbours, must reach REGION_GAIN of the best.
        Blocks outside the clip (bars, the footage around a picture-in-picture, a rotation's
        black corners) and their edges drop out; a clip that fills the frame keeps nearly
        all. Pilot samples only, so under the null the choice knows nothing of the payload."""
        mean = self.mean() * self.mask
        rows, cols = mean.shape[0] // analysis.PERIOD, mean.shape[1] // analysis.PERIOD
        if rows * cols < 2:
            return self
        gains = np.zeros((rows, cols), np.float32)
        norm = float(np.sum(pilot * pilot))
        for row in range(rows):
            for col in range(cols):
                cell = (
                    slice(row * analysis.PERIOD, (row + 1) * analysis.PERIOD),
                    slice(col * analysis.PERIOD, (col + 1) * analysis.PERIOD),
                )
                inside = float(self.mask[cell].mean())
                if inside > 0.25:
                    gains[row, col] = float(np.sum(analysis.sample_values(mean[cell] / inside) * pilot)) / norm
        smooth = cv2.blur(gains, (3, 3), borderType=cv2.BORDER_CONSTANT)
        if smooth.max() <= 0:
            return self
        keep = (smooth >= REGION_GAIN * smooth.max()).astype(np.float32)
        weights = np.zeros_like(self.mask)
        weights[: rows * analysis.PERIOD, : cols * analysis.PERIOD] = np.kron(
            keep, np.ones((analysis.PERIOD, analysis.PERIOD), np.float32)
        )
        return AffineAligned(self.residuals, self.mask * weights)


def _split(shift: tuple[float, float]) -> tuple[tuple[int, int], tuple[float, float]]:
    """Whole samples (rows, columns) and the fractional (x, y) remainder of a tile origin."""
    whole_x, whole_y = int(np.floor(shift[0])), int(np.floor(shift[1]))
    return (whole_y, whole_x), (shift[0] - whole_x, shift[1] - whole_y)


class ClipResiduals:
    """Luma of the analysed frames, and their residuals on each profile's picture grid."""

    def __init__(self, clip: np.ndarray, indices: list[int]):
        self.height, self.width = clip.shape[1:3]
        self.luma = [analysis.luma(np.ascontiguousarray(clip[i])) for i in indices]
        self._picture: dict[str, list[np.ndarray]] = {}

    @classmethod
    def from_luma(cls, lumas: list[np.ndarray]) -> ClipResiduals:
        """A clip given by its analysed frames' luma (a region cut out of a larger frame)."""
        self = cls.__new__(cls)
        self.height, self.width = lumas[0].shape
        self.luma = [np.ascontiguousarray(y) for y in lumas]
        self._picture = {}
        return self

    def picture_residuals(self, profile: str) -> list[np.ndarray]:
        if profile not in self._picture:
            grid = PROFILES[profile]
            lumas: list[np.ndarray]
            if profile == "still" and len(self.luma) > 1:
                # a clip carrying a still's mark is a slideshow of it: its mean frame will do
                lumas = [np.asarray(np.mean(self.luma, axis=0, dtype=np.float32))]
            else:
                lumas = self.luma
            self._picture[profile] = [
                analysis.whiten(analysis.to_grid(y, self.height, self.width, grid)) for y in lumas
            ]
        return self._picture[profile]

    def window(self, start: int, stop: int) -> ClipResiduals:
        """Analysed frames start..stop-1 as a clip of their own, sharing their clip-grid residuals."""
        sub = ClipResiduals.from_luma(self.luma[start:stop])
        sub._picture["clip"] = self.picture_residuals("clip")[start:stop]
        return sub

    def interpolated(
        self, profile: str, registration: sync.Registration, residuals: list[np.ndarray] | None = None
    ) -> AlignedResiduals:
        """Picture-grid residuals moved onto the registration's grid by interpolation (cheap)."""
        roll, (fx, fy) = _split(registration.shift)
        scale = registration.scale
        residuals = self.picture_residuals(profile) if residuals is None else residuals
        return AlignedResiduals([sync.resample(r, scale, (fx * scale, fy * scale)) for r in residuals], roll)

    def exact_affine(self, registration: sync.AffineRegistration, frames: int | None = None) -> AffineAligned:
        """Residuals re-sampled from the frames on the registration's tile grid (clip profile)."""
        step = analysis.picture_step(self.height, self.width, analysis.CLIP_GRID)
        matrix = np.asarray(registration.matrix) * step
        matrix[:, 2] += step - 0.5
        # box-average first by the whole part of the spacing, the anti-alias filter
        factor = max(int(step * registration.scale + 1e-6), 1)
        if factor > 1:
            matrix = matrix / factor
            matrix[:, 2] -= (factor - 1) / (2 * factor)
        out, inside = [], None
        lumas = self.luma
        if frames is not None and len(lumas) > frames:
            lumas = [lumas[int(i)] for i in np.linspace(0, len(lumas) - 1, frames).round()]
        for y in lumas:
            if factor > 1:
                h, w = y.shape[0] // factor * factor, y.shape[1] // factor * factor
                y = cv2.resize(y[:h, :w], (w // factor, h // factor), interpolation=cv2.INTER_AREA)
            warped, inside = sync.warp_to_tile(y, matrix)
            out.append(analysis.whiten(warped) * inside)
        assert inside is not None  # a clip has at least one frame
        return AffineAligned(out, sync.erode_mask(inside))

    def _decimated(self, factor: int, frames: int | None) -> list[np.ndarray]:
        """The analysed frames' luma box-averaged by `factor` (at most `frames` of them, evenly
        spaced), kept: the perspective search samples the same frames on many grids."""
        cache = self.__dict__.setdefault("_decimations", {})
        if (factor, frames) not in cache:
            lumas = self.luma
            if frames is not None and len(lumas) > frames:
                lumas = [lumas[int(i)] for i in np.linspace(0, len(lumas) - 1, frames).round()]
            if factor > 1:
                lumas = [
                    cv2.resize(
                        y[: y.shape[0] // factor * factor, : y.shape[1] // factor * factor],
                        (y.shape[1] // factor, y.shape[0] // factor),
                        interpolation=cv2.INTER_AREA,
                    )
                    for y in lumas
                ]
            cache[(factor, frames)] = lumas
        return cache[(factor, frames)]

    def exact_projective(
        self, matrix: np.ndarray, frames: int | None = None
    ) -> tuple[AffineAligned, np.ndarray] | None:
        """Residuals re-sampled from the frames on a homography's tile grid (clip profile), and
        the grid's origin in tile coordinates; None when the homography is degenerate."""
        step = analysis.picture_step(self.height, self.width, analysis.CLIP_GRID)
        to_pixels = np.array([[step, 0.0, step - 0.5], [0.0, step, step - 0.5], [0.0, 0.0, 1.0]]) @ matrix
        # box-average first by the whole part of the spacing at the picture's centre, the anti-alias filter
        try:
            centre = np.linalg.solve(matrix, [self.width / (2 * step), self.height / (2 * step), 1.0])
        except np.linalg.LinAlgError:
            return None
        jacobian = perspective.jacobian(to_pixels, centre[:2] / centre[2])
        factor = max(int(np.sqrt(abs(np.linalg.det(jacobian))) + 1e-6), 1)
        if factor > 1:
            to_pixels = (
                np.array(
                    [
                        [1 / factor, 0.0, -(factor - 1) / (2 * factor)],
                        [0.0, 1 / factor, -(factor - 1) / (2 * factor)],
                        [0.0, 0.0, 1.0],
                    ]
                )
                @ to_pixels
            )
        out, inside, low = [], None, None
        for y in self._decimated(factor, frames):
            warped = perspective.warp_to_tile(y, to_pixels)
            if warped is None:
                return None
            sampled, inside, low = warped
            out.append(analysis.whiten(sampled) * inside)
        assert inside is not None and low is not None  # a clip has at least one frame
        return AffineAligned(out, sync.erode_mask(inside)), low

    def exact(self, profile: str, registration: sync.Registration) -> AlignedResiduals:
        """Residuals re-sampled from the frames on the registration's grid, rather than
        interpolated from the picture grid: what a crop needs."""
        whole = (round(registration.shift[1]), round(registration.shift[0]))
        if registration.scale == 1.0 and all(
            abs(d - w) < 0.15 for d, w in zip(registration.shift[::-1], whole, strict=True)
        ):
            return AlignedResiduals(self.picture_residuals(profile), whole)  # on the picture grid already
        roll, (fx, fy) = _split(registration.shift)
        base = analysis.picture_step(self.height, self.width, PROFILES[profile])
        step = base * registration.scale
        offset = (step * fx + base - 0.5, step * fy + base - 0.5)
        return AlignedResiduals([analysis.whiten(analysis.sample_grid(y, step, offset)) for y in self.luma], roll)
