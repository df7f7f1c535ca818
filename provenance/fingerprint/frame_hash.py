"""Per-frame perceptual hashes: signs of low-frequency DCT coefficients of the luma.

A frame is reduced to luma, area-averaged to a small working image, and a centred region of it
is resized to 32x32 and transformed with a 2-D DCT. The lowest-frequency AC coefficients (zig-zag
order, DC left out so brightness does not matter) are compared with their median: one bit each.
Dividing by the median instead of zero makes the hash invariant to contrast changes and keeps
half the bits set whatever the content.

Each bit also gets a *strong* flag: its coefficient is further than ``STRONG_MARGIN`` from the
median. Weak bits flip under mild re-encoding; distances count only bits strong on both sides.
A frame with too few strong bits (a flat wall, a plain gradient) is not informative and is
never used to claim a match: on such content any two clips look alike.

Geometry: the registered ("canonical") hash covers the central ``CANONICAL_REGION`` of the
frame. A centred crop keeping a fraction ``s`` of the original shows that same content in its
central ``CANONICAL_REGION / s``, so a query is hashed under a few crop hypotheses (and
mirrored) and the best hypothesis wins.
"""

from __future__ import annotations

import cv2
import numpy as np

DCT_SIZE = 32
HASH_BITS = 64  # one uint64 per frame
# |coefficient - median| below this (in 8-bit luma units of the orthonormal 32x32 DCT) is a weak
# bit: measured flip rates under H.264 CRF 40, 25 % scale, gamma, GIF are 12-32 % below it and
# under 7 % above. (256-bit hashes were measured too: the extra high frequencies flip more after
# GIF and CRF 40 + 25 % scale than they add in separation from unrelated clips.)
STRONG_MARGIN = 2.0
# A frame with fewer strong bits than this says too little to identify anything.
MIN_STRONG_BITS = HASH_BITS * 3 // 4
# The working image: area-averaged first so every later step sees the same, already smoothed,
# pixels whatever the input resolution.
WORKING_SIZE = (160, 90)  # width, height
CANONICAL_REGION = 0.8
# (region of the query frame, mirrored, upside down) for: no crop, 90 % crop, 80 % crop,
# horizontal flip; a registration stores these four.
VARIANTS: tuple[tuple[float, bool, bool], ...] = (
    (CANONICAL_REGION, False, False),
    (CANONICAL_REGION / 0.9, False, False),
    (CANONICAL_REGION / 0.8, False, False),
    (CANONICAL_REGION, True, False),
)
VARIANT_NAMES = ("as-is", "crop-90", "crop-80", "mirrored")
# A query (the verifier's suspect) also tries the vertical flip and the half turn (both flips),
# and the same six again on the content region when the frame shows more than the clip (bars,
# a border, a picture-in-picture): QUERY_VARIANTS on the whole frame, then on the region.
QUERY_VARIANTS: tuple[tuple[float, bool, bool], ...] = (
    *VARIANTS,
    (CANONICAL_REGION, False, True),
    (CANONICAL_REGION, True, True),
)
QUERY_VARIANT_NAMES = (*VARIANT_NAMES, "upside-down", "rotated-180")
REGION_VARIANT_NAMES = tuple(f"content-region {name}" for name in QUERY_VARIANT_NAMES)
ALL_VARIANT_NAMES = (*QUERY_VARIANT_NAMES, *REGION_VARIANT_NAMES)


def _zigzag_positions(count: int) -> tuple[np.ndarray, np.ndarray]:
    cells = [(u, v) for u in range(DCT_SIZE) for v in range(DCT_SIZE) if (u, v) != (0, 0)]
    cells.sort(key=lambda cell: (cell[0] + cell[1], cell[0]))
    chosen = cells[:count]
    rows = np.array([v for _, v in chosen])  # vertical frequency
    columns = np.array([u for u, _ in chosen])  # horizontal frequency
    return rows, columns


_ROWS, _COLUMNS = _zigzag_positions(HASH_BITS)
_BIT_WEIGHTS = np.left_shift(np.uint64(1), np.arange(64, dtype=np.uint64))


def working_luma(frame: np.ndarray) -> np.ndarray:
    """RGB uint8 (H, W, 3) -> float32 luma at ``WORKING_SIZE``."""
    if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
        raise ValueError(f"expected a uint8 RGB frame of shape (H, W, 3), got {frame.dtype} {frame.shape}")
    if frame.shape[0] < 2 or frame.shape[1] < 2:
        raise ValueError(f"frame of {frame.shape[1]}x{frame.shape[0]} pixels is too small to fingerprint")
    luma = cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2GRAY)
    return cv2.resize(luma, WORKING_SIZE, interpolation=cv2.INTER_AREA).astype(np.float32)


def region_coefficients(luma: np.ndarray, region: float, mirrored: bool, upside_down: bool = False) -> np.ndarray:
    """Low-frequency DCT coefficients of the centred ``region`` fraction of ``luma``."""
    height, width = luma.shape
    if region < 1.0:
        crop_height, crop_width = height * region, width * region
        top, left = (height - crop_height) / 2, (width - crop_width) / 2
        luma = luma[round(top) : round(top + crop_height), round(left) : round(left + crop_width)]
    if mirrored:
        luma = luma[:, ::-1]
    if upside_down:
        luma = luma[::-1]
    small = cv2.resize(np.ascontiguousarray(luma), (DCT_SIZE, DCT_SIZE), interpolation=cv2.INTER_AREA)
    return cv2.dct(small)[_ROWS, _COLUMNS]


def pack_bits(bits: np.ndarray) -> np.ndarray:
    """(..., 64) bool -> (...) uint64; bit i is the i-th coefficient in zig-zag order."""
    return (bits.astype(np.uint64) * _BIT_WEIGHTS).sum(axis=-1, dtype=np.uint64)


def hash_frames(
    frames: np.ndarray | list[np.ndarray], variants: tuple[tuple[float, bool, bool], ...] = VARIANTS
) -> tuple[np.ndarray, np.ndarray]:
    """Hashes and strong-bit masks of every frame under every variant: two (V, T) uint64 arrays."""
    count = len(frames)
    coefficients = np.empty((len(variants), count, HASH_BITS), np.float32)
    for index in range(count):
        luma = working_luma(frames[index])
        for variant, (region, mirrored, upside_down) in enumerate(variants):
            coefficients[variant, index] = region_coefficients(luma, min(region, 1.0), mirrored, upside_down)
    deviation = coefficients - np.median(coefficients, axis=-1, keepdims=True)
    return pack_bits(deviation > 0), pack_bits(np.abs(deviation) >= STRONG_MARGIN)


def informative(strong: np.ndarray) -> np.ndarray:
    """Which frames have enough strong bits to take part in matching."""
    return np.bitwise_count(strong) >= MIN_STRONG_BITS
