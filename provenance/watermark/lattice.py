"""Rotation and scale of the mark's tile lattice, from the suspect's own spectrum.

The mark is one tile repeated over the picture, so whatever the picture went through — a
rotation, a crop, a shrink into a picture-in-picture, a letterbox, a sideways phone — the
whitened residual still carries a periodic pattern whose period vectors are the tile's.
A periodic pattern's spectrum is a lattice of lines at the reciprocal lattice, whatever
the pattern's content and wherever it sits in the frame (translation only changes phase),
so the power spectrum gives the lattice's rotation and period without the key and without
knowing where the clip is in the frame (Fourier-Mellin: in log-polar coordinates a rotation
is a shift along the angle and a scale a shift along log-radius; one FFT correlation scores
every rotation and every period at once). A square lattice looks the same after a quarter
turn or a mirror, so the spectrum leaves eight orientations (the dihedral group D4) and the
shift, which the key's pilot then decides (`sync.register_affine`).

Nothing here uses the key, so nothing here spends false-positive budget: only the decodes
made at the registrations found are counted (detect.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from provenance.watermark.analysis import PERIOD

SPECTRUM_SIZE = 512  # zero-padded FFT size of the mean residual
SPECTRUM_SMOOTH = 6.0  # bins: the local power level each bin is compared with
# Harmonics of the tile period used: below 8 the whitening's high-pass removes most of the
# mark, above 20 compression does (measured on H.264 CRF 23 clips: 8-20 scores best).
HARMONIC_MIN = 8
HARMONIC_MAX = 20
MAX_FREQUENCY = 0.45  # cycles per sample: past this the harmonic aliases
# Periods searched, in analysis samples of the picture grid (64 for the whole marked
# picture): a picture-in-picture at 35 % of the frame shows the tile at about 22, a crop to
# 55 % of each side at about 116.
MIN_PERIOD = 20.0
MAX_PERIOD = 130.0
ANGLE_BINS = 360  # over 180 degrees: half a degree (the fine search does the rest)
RADIUS_BINS = 512
LATTICE_CANDIDATES = 3
_FINE_ANGLES = np.radians(np.arange(-0.35, 0.36, 0.05))
_FINE_SCALES = 1.0 + 0.001 * np.arange(-5, 6)


@dataclass(frozen=True)
class Lattice:
    angle: float  # radians, modulo a quarter turn: the tile's rotation in the picture grid
    period: float  # the tile's period in picture-grid samples (PERIOD when the picture is whole)
    score: float  # spectral evidence for it (roughly standard deviations)

    @property
    def scale(self) -> float:
        return self.period / PERIOD


def power_spectrum(residual: np.ndarray) -> np.ndarray:
    """Windowed, zero-padded power spectrum (centred), divided by its local level, minus one:
    about zero with unit spread where there is no line, positive on the mark's lines."""
    height, width = residual.shape
    window = np.outer(np.hanning(height), np.hanning(width)).astype(np.float32)
    spectrum = np.fft.fft2((residual - residual.mean()) * window, s=(SPECTRUM_SIZE, SPECTRUM_SIZE))
    power = np.fft.fftshift(np.abs(spectrum) ** 2).astype(np.float32)
    level = cv2.GaussianBlur(power, (0, 0), SPECTRUM_SMOOTH)
    return power / np.maximum(level, 1e-12) - 1.0


@lru_cache(maxsize=1)
def _harmonics() -> tuple[np.ndarray, np.ndarray]:
    k = np.arange(-HARMONIC_MAX, HARMONIC_MAX + 1)
    ky, kx = np.meshgrid(k, k, indexing="ij")
    radius = np.hypot(kx, ky)
    # one of each pair k, -k: the power spectrum of a real pattern is symmetric
    keep = (radius >= HARMONIC_MIN) & (radius <= HARMONIC_MAX) & ((ky > 0) | ((ky == 0) & (kx > 0)))
    return kx[keep].astype(np.float64), ky[keep].astype(np.float64)


def _radius_axis() -> np.ndarray:
    # radii (in bins) of the log-polar image, geometric between the smallest and largest
    # radius any searched harmonic can have
    low = HARMONIC_MIN / MAX_PERIOD * SPECTRUM_SIZE * 0.9
    high = MAX_FREQUENCY * SPECTRUM_SIZE
    return low * (high / low) ** (np.arange(RADIUS_BINS) / (RADIUS_BINS - 1))


def _log_polar(spectrum: np.ndarray) -> np.ndarray:
    radii = _radius_axis().astype(np.float32)
    angles = (np.arange(ANGLE_BINS) * np.pi / ANGLE_BINS).astype(np.float32)
    centre = SPECTRUM_SIZE / 2
    map_x = centre + np.cos(angles)[:, None] * radii[None, :]
    map_y = centre + np.sin(angles)[:, None] * radii[None, :]
    return cv2.remap(spectrum, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)


@lru_cache(maxsize=1)
def _template_spectrum() -> tuple[np.ndarray, float, int]:
    """The harmonics in log-polar coordinates for period MAX_PERIOD, unrotated (conjugate
    spectrum, padded along log-radius), the log-radius step and the harmonic count."""
    kx, ky = _harmonics()
    radii = _radius_axis()
    step = float(np.log(radii[1] / radii[0]))
    template = np.zeros((ANGLE_BINS, 2 * RADIUS_BINS), np.float32)
    angle = np.mod(np.arctan2(ky, kx), np.pi) / np.pi * ANGLE_BINS
    rho = np.log(np.hypot(kx, ky) / MAX_PERIOD * SPECTRUM_SIZE / radii[0]) / step
    for a, r in zip(angle, rho, strict=True):
        a0, r0 = int(np.floor(a)), int(np.floor(r))
        fa, fr = a - a0, r - r0
        for da, wa in ((0, 1 - fa), (1, fa)):
            for dr, wr in ((0, 1 - fr), (1, fr)):
                if 0 <= r0 + dr < RADIUS_BINS:
                    template[(a0 + da) % ANGLE_BINS, r0 + dr] += wa * wr
    return np.conj(np.fft.rfft2(template)), step, len(kx)


def _direct_scores(spectrum: np.ndarray, angles: np.ndarray, periods: np.ndarray) -> np.ndarray:
    """Evidence for each (angle, period) pair: the mean normalised power on the lattice's
    harmonics below MAX_FREQUENCY, times the square root of their number."""
    kx, ky = _harmonics()
    cos, sin = np.cos(angles)[:, None], np.sin(angles)[:, None]
    fx = (kx * cos - ky * sin) / periods[:, None]
    fy = (kx * sin + ky * cos) / periods[:, None]
    valid = np.hypot(fx, fy) < MAX_FREQUENCY
    map_x = (fx * SPECTRUM_SIZE + SPECTRUM_SIZE / 2).astype(np.float32)
    map_y = (fy * SPECTRUM_SIZE + SPECTRUM_SIZE / 2).astype(np.float32)
    values = cv2.remap(spectrum, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    count = valid.sum(axis=1)
    return np.where(count > 0, (values * valid).sum(axis=1) / np.sqrt(np.maximum(count, 1)), 0.0)


def find_lattices(residual: np.ndarray, candidates: int = LATTICE_CANDIDATES) -> list[Lattice]:
    """The strongest tile lattices in a (mean, whitened) residual, best first: a log-polar
    correlation over every rotation (modulo a quarter turn) and period, then a fine direct
    search around each peak."""
    spectrum = power_spectrum(residual)
    template, step, _count = _template_spectrum()
    polar = np.zeros((ANGLE_BINS, 2 * RADIUS_BINS), np.float32)
    polar[:, :RADIUS_BINS] = _log_polar(spectrum)
    surface: np.ndarray = np.fft.irfft2(np.fft.rfft2(polar) * template, s=polar.shape)
    # shift s along log-radius means period MAX_PERIOD * exp(-s * step); a square lattice
    # repeats every quarter turn, so angles in [0, 90) degrees say everything
    shifts = int(np.floor(np.log(MAX_PERIOD / MIN_PERIOD) / step)) + 1
    quarter = ANGLE_BINS // 2
    surface = surface[:quarter, :shifts]
    surface = cv2.GaussianBlur(surface.astype(np.float32), (3, 3), 0)
    found: list[Lattice] = []
    taken = np.zeros(surface.shape, bool)
    order = np.argsort(surface, axis=None)[::-1]
    for flat in order[: 64 * candidates]:
        a, s = divmod(int(flat), surface.shape[1])
        if taken[a, s]:
            continue
        # neighbouring cells of one peak are one candidate
        for da in range(-3, 4):
            taken[(a + da) % quarter, max(s - 8, 0) : s + 9] = True
        angle = a * np.pi / ANGLE_BINS
        period = MAX_PERIOD * np.exp(-s * step)
        found.append(_refine(spectrum, angle, period))
        if len(found) == candidates:
            break
    found.sort(key=lambda lattice: -lattice.score)
    return found


def _refine(spectrum: np.ndarray, angle: float, period: float) -> Lattice:
    angles = (angle + _FINE_ANGLES)[:, None] * np.ones_like(_FINE_SCALES)[None, :]
    periods = (period * _FINE_SCALES)[None, :] * np.ones_like(_FINE_ANGLES)[:, None]
    scores = _direct_scores(spectrum, angles.ravel(), periods.ravel())
    best = int(np.argmax(scores))
    return Lattice(float(angles.ravel()[best]), float(periods.ravel()[best]), float(scores[best]))
