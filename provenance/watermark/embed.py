"""Embedding: one keyed tile, scaled to the frame, added to luma with SSIM-aware masking,
pre-compensated for the interference of the clip's own content (informed embedding)."""

from __future__ import annotations

import cv2
import numpy as np

from provenance.watermark import analysis, ecc
from provenance.watermark.keys import WatermarkKey
from provenance.watermark.layout import CODED_BITS, TILE, TileLayout, layout_for
from provenance.watermark.payload import MESSAGE_BITS, encipher_identifier, int_to_bits

# Mean squared change allowed per frame (RGB levels²): PSNR 40.3 dB before rounding.
TARGET_MSE = 255.0**2 / 10 ** (40.3 / 10)
# When fewer than READ_TARGET of the coded bits are predicted to read right on the
# unprocessed clip (short clips of busy, noise-like texture, where content and mark share
# frequencies and few frames average it out), the budget is raised in these steps (dB): such
# content masks the extra change, and without it the mark would not survive a re-encode.
BOOST_STEPS_DB = (0.5, 1.0, 1.5, 2.0)
READ_TARGET = 0.95
# SSIM's structure term on a 7x7 window with standard deviation s drops by about
# v / (2 s² + C2) when a pattern with in-window variance v is added; the amplitude is set so
# that this loss is SSIM_LOSS everywhere (flat areas get the least, texture the most).
SSIM_C2 = (0.03 * 255) ** 2
SSIM_WINDOW = 7
SSIM_LOSS = 0.0142
MAX_AMPLITUDE = 8.0
CLIP_HEADROOM = 0.5  # amplitude at most half the distance to 0 or 255
_WINDOW = np.ones((5, 5), np.uint8)
# Informed embedding: passes, the ceiling on any one sample's boost, and how many frames
# (evenly spaced, as the detector samples long clips) it looks at.
INFORMED_PASSES = 2
MAX_TILE_VALUE = 2.5
INFORMED_FRAMES = 64


def in_window_variance(pattern: np.ndarray) -> float:
    """Mean variance of the pattern inside SSIM windows: the finer the mark (small frames),
    the more of its energy SSIM sees, and the lower its amplitude must be."""
    mean = cv2.boxFilter(pattern, -1, (SSIM_WINDOW, SSIM_WINDOW))
    return float(np.mean(cv2.boxFilter(pattern * pattern, -1, (SSIM_WINDOW, SSIM_WINDOW)) - mean * mean))


def amplitude_map(frame: np.ndarray, gray: np.ndarray, pattern_variance: float) -> np.ndarray:
    """Amplitude (RGB levels) at half resolution that costs each SSIM window the same SSIM_LOSS,
    and fades out near black and white, where clipping would rectify the mark into a visible
    (and, to SSIM's luminance term, costly) shift of the local mean."""
    height, width = gray.shape
    half = (max(width // 2, 1), max(height // 2, 1))
    small = cv2.resize(gray, half, interpolation=cv2.INTER_AREA).astype(np.float32)
    mean = cv2.boxFilter(small, -1, (4, 4))
    variance = np.maximum(cv2.boxFilter(small * small, -1, (4, 4)) - mean * mean, 0.0)
    gain = np.float32(np.sqrt(SSIM_LOSS / max(pattern_variance, 1e-6)))
    amplitude = np.minimum(gain * np.sqrt(2.0 * variance + SSIM_C2), MAX_AMPLITUDE)
    # headroom of the darkest and the brightest channel, over roughly the same 8x8 windows
    red, green, blue = cv2.split(cv2.resize(frame, half, interpolation=cv2.INTER_AREA))
    low = cv2.erode(cv2.min(cv2.min(red, green), blue), _WINDOW).astype(np.float32)
    high = cv2.dilate(cv2.max(cv2.max(red, green), blue), _WINDOW).astype(np.float32)
    headroom = np.minimum(low, 255.0 - high) * CLIP_HEADROOM + 0.5
    return np.minimum(amplitude, headroom)


def message_symbols(identifier: int, key: WatermarkKey) -> np.ndarray:
    """±1 per coded bit."""
    message = encipher_identifier(identifier, key)
    return 2.0 * ecc.encode(int_to_bits(message, MESSAGE_BITS)).astype(np.float32) - 1.0


def _power_ceiling(amplitude: np.ndarray, pattern_power: float, budget: float) -> float:
    """The amplitude ceiling that keeps the frame's mean squared change at `budget`.

    When the power limit binds, the strongest amplitudes (in texture) are trimmed and the
    smooth areas keep theirs, rather than scaling everything down: the detector's whitening
    sees the mark in smooth areas against far less content noise, and SSIM there has room."""
    sample = amplitude[::2, ::2]
    if float(np.mean(sample * sample)) * pattern_power <= budget:
        return float("inf")
    low, high = 0.0, float(sample.max())
    for _ in range(14):
        middle = 0.5 * (low + high)
        clipped = np.minimum(sample, middle)
        if float(np.mean(clipped * clipped)) * pattern_power > budget:
            high = middle
        else:
            low = middle
    return low


def render_tile(tile: np.ndarray, height: int, width: int, pitch: float) -> np.ndarray:
    """The periodic tile bilinearly interpolated onto the frame, sample (0, 0) at the top-left corner."""
    repeats_y = int(np.ceil((height / pitch + 2) / TILE))
    repeats_x = int(np.ceil((width / pitch + 2) / TILE))
    plane = np.tile(tile.astype(np.float32), (repeats_y, repeats_x))
    offset = 0.5 / pitch - 0.5
    to_source = np.array([[1 / pitch, 0, offset], [0, 1 / pitch, offset]], np.float32)
    return cv2.warpAffine(
        plane, to_source, (width, height), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_WRAP
    )


class _Frame:
    """What the embedder keeps per frame: its amplitude map and its analysis grid."""

    def __init__(self, frame: np.ndarray, pattern_variance: float, grid: int):
        height, width = frame.shape[:2]
        gray = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
        self.amplitude = amplitude_map(frame, gray, pattern_variance)
        self.host_grid = analysis.to_grid(gray, height, width, grid)
        full = cv2.resize(self.amplitude, (width, height), interpolation=cv2.INTER_LINEAR)
        self.amplitude_grid = analysis.to_grid(full, height, width, grid)


def _informed_tile(
    frames: list[_Frame], layout: TileLayout, symbols: np.ndarray, shape: tuple[int, int], grid: int, budget: float
) -> tuple[np.ndarray, float]:
    """Adjust each payload bit's amplitude so the detector reads every bit of this clip with the
    same strength: the content's own projection onto a bit is cancelled rather than left as
    noise (informed embedding). The detector's analysis is linear up to its whitening, so the
    marked clip's grid is predicted as the unmarked grid plus amplitude times pattern.

    Returns the tile and the fraction of coded bits it is predicted to read right."""
    height, width = shape
    pitch = analysis.mark_pitch(height, width, grid)
    slots = np.bincount(layout.bit_of_sample, minlength=CODED_BITS + 1)[:CODED_BITS].astype(np.float32)
    payload = layout.bit_of_sample < CODED_BITS
    bit_index = np.minimum(layout.bit_of_sample, CODED_BITS - 1)
    direction = (layout.payload_signs.ravel() * symbols[bit_index]).reshape(TILE, TILE)
    tile = layout.tile_from_symbols(symbols)
    best, best_quality, best_read = tile, -np.inf, 0.0
    for passes in range(INFORMED_PASSES + 1):
        pattern = render_tile(tile, height, width, pitch)
        pattern_grid = analysis.to_grid(pattern, height, width, grid)
        pattern_power = float(np.mean(pattern * pattern))
        total = np.zeros_like(frames[0].host_grid)
        for frame in frames:
            ceiling = np.float32(_power_ceiling(frame.amplitude, pattern_power, budget))
            amplitude_grid = np.minimum(frame.amplitude_grid, ceiling)
            total += analysis.whiten(frame.host_grid + amplitude_grid * pattern_grid)
        values = analysis.sample_values(analysis.fold(total / len(frames)))
        strength = analysis.soft_bits(values, layout) * symbols / slots
        gain = float(np.mean(strength))
        # how evenly the bits read, after the power limit has rescaled the whole pattern: when the
        # content's interference dwarfs the mark, cancelling it costs more than it gains
        quality = gain / (float(np.std(strength)) + 1e-9)
        if quality > best_quality:
            best, best_quality, best_read = tile, quality, float(np.mean(strength > 0))
        if passes == INFORMED_PASSES or gain <= 0:
            break
        shortfall = (gain - strength) / gain
        correction = np.where(payload, shortfall[bit_index], 0.0).reshape(TILE, TILE)
        tile = np.clip(tile + correction * direction, -MAX_TILE_VALUE, MAX_TILE_VALUE).astype(np.float32)
    return best, best_read


def _add_luma(frame: np.ndarray, delta: np.ndarray) -> np.ndarray:
    # The same change on R, G and B is a pure luma change under any Y'CbCr matrix, so the
    # encoder's 4:2:0 chroma subsampling cannot touch it. Rounding the change (not the sum)
    # is exact because the frame is integer; OpenCV's saturating arithmetic rounds and clips.
    # OpenCV takes a scalar for either operand; its stubs only list arrays
    up = cv2.cvtColor(cv2.add(delta, 0.0, dtype=cv2.CV_8U), cv2.COLOR_GRAY2RGB)  # type: ignore[call-overload]
    down = cv2.cvtColor(cv2.subtract(0.0, delta, dtype=cv2.CV_8U), cv2.COLOR_GRAY2RGB)  # type: ignore[call-overload]
    return cv2.subtract(cv2.add(frame, up), down)


def embed_watermark(frames: np.ndarray, identifier: int, key: WatermarkKey) -> np.ndarray:
    """Mark every frame of a clip (T, H, W, 3) or one image (H, W, 3), uint8 RGB, with `identifier`.

    A clip of one frame is marked as a still (finer grid); the detector tries both."""
    frames = np.asarray(frames)
    if frames.dtype != np.uint8 or frames.ndim not in (3, 4) or frames.shape[-1] != 3:
        raise ValueError(
            f"frames must be uint8 RGB of shape (T, H, W, 3) or (H, W, 3), got {frames.dtype} {frames.shape}"
        )
    clip = frames[None] if frames.ndim == 3 else frames
    count, height, width = clip.shape[:3]
    if min(height, width) < analysis.MIN_SIDE:
        raise ValueError(
            f"frames of {width}x{height} are too small to carry a watermark ({analysis.MIN_SIDE} px minimum)"
        )
    if count == 0:
        raise ValueError("no frames to mark")
    layout = layout_for(key)
    symbols = message_symbols(identifier, key)
    grid = analysis.STILL_GRID if count == 1 else analysis.CLIP_GRID
    pitch = analysis.mark_pitch(height, width, grid)
    variance = in_window_variance(render_tile(layout.tile_from_symbols(symbols), height, width, pitch))
    sampled = sorted({int(round(i)) for i in np.linspace(0, count - 1, min(count, INFORMED_FRAMES))})
    prepared = {index: _Frame(np.ascontiguousarray(clip[index]), variance, grid) for index in sampled}
    budget = TARGET_MSE
    tile, read = _informed_tile(list(prepared.values()), layout, symbols, (height, width), grid, budget)
    for boost in BOOST_STEPS_DB:
        if read >= READ_TARGET:
            break
        budget = TARGET_MSE * 10 ** (boost / 10)
        tile, read = _informed_tile(list(prepared.values()), layout, symbols, (height, width), grid, budget)
    pattern = render_tile(tile, height, width, pitch)
    pattern_power = float(np.mean(pattern * pattern))
    marked = np.empty_like(clip)
    for index in range(count):
        frame = np.ascontiguousarray(clip[index])
        if index in prepared:
            amplitude = prepared.pop(index).amplitude
        else:
            amplitude = amplitude_map(frame, cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY), variance)
        amplitude = np.minimum(amplitude, np.float32(_power_ceiling(amplitude, pattern_power, budget)))
        amplitude = cv2.resize(amplitude, (width, height), interpolation=cv2.INTER_LINEAR)
        marked[index] = _add_luma(frame, cv2.multiply(amplitude, pattern))
    return marked[0] if frames.ndim == 3 else marked
