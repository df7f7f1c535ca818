"""Compatibility detector for Stability AI's reference watermark.

Stable Video Diffusion's and SDXL's reference scripts stamp every frame with
invisible-watermark's `dwtDct` method carrying one fixed 48-bit message, 0xB3EC907BB19E.
This is our own vectorised reading of that method's decoder (the library's loops over
8x8-pixel blocks one at a time, and importing it imports torch): chroma U of OpenCV's
full-range YUV, one Haar level, 4x4 blocks of the approximation band, and in each block
the largest-magnitude coefficient after the first, whose magnitude modulo 36 is read as a
bit. Block k votes for message bit k mod 48.

The message is fixed, so it cannot be key-scrambled; the test is a binomial test of the
48 clip-level bits against it. That model needs the 48 bits to be independent fair coins
under the null: the decoder's known bias toward 0 on plain content does not make a match
more likely, because the message has 21 zeros and 27 ones and a bias toward either value
only pulls the count toward 21 or 27, far below the threshold of 41; the empirical null in
bench/watermark_null.py checks the rest. Stability's scripts pass BGR frames, diffusers'
SDXL watermarker passes RGB frames where BGR is expected, so both channel orders are
tried (on the first four frames; the better one reads the rest) and the p-value carries a
factor of 2 for it.
"""

from __future__ import annotations

import cv2
import msgspec
import numpy as np

from provenance.watermark.stats import binomial_tail

REFERENCE_MESSAGE = 0xB3EC907BB19E
REFERENCE_BITS = 48
REFERENCE_ALGORITHM = "invisible-watermark.dwtDct/0xB3EC907BB19E"
REFERENCE_THRESHOLD_P_VALUE = 1e-6
_SCALE = 36.0
_HAAR = 0.7071067811865476  # PyWavelets' Haar low-pass tap, 1/sqrt(2) in float64
_BLOCK = 4
_MESSAGE = np.array([(REFERENCE_MESSAGE >> (REFERENCE_BITS - 1 - i)) & 1 for i in range(REFERENCE_BITS)], dtype=np.int8)
# How the marking pipeline handed frames to the library, which expects BGR -> the conversion
# that reproduces the library's YUV from our RGB frames.
_ORDERS = {"bgr": cv2.COLOR_RGB2YUV, "rgb": cv2.COLOR_BGR2YUV}
MAX_ANALYSED_FRAMES = 64
ORDER_CHOICE_FRAMES = 4


class ReferenceWatermarkDetection(msgspec.Struct, kw_only=True):
    detected: bool
    p_value: float
    threshold_p_value: float
    bit_accuracy: float  # clip-level bits matching 0xB3EC907BB19E, as a fraction of 48
    matching_bits: int
    channel_order: (
        str  # how the marking pipeline handed frames to invisible-watermark ("bgr" as in Stability's scripts)
    )
    frame_scores: list[float]  # per analysed frame: fraction of the 48 bits read correctly from that frame alone
    frame_indices: list[int]
    frames_total: int
    frames_analysed: int
    algorithm: str = REFERENCE_ALGORITHM
    label: str = "Stable Diffusion reference watermark"


def block_votes(frame: np.ndarray, order: str = "bgr") -> np.ndarray:
    """Per-bit fraction of blocks reading 1 in one uint8 RGB frame, marked by a pipeline that
    handed the library frames in channel order `order`."""
    rows, cols = frame.shape[0] // 4 * 4, frame.shape[1] // 4 * 4
    # exactly as the library does: OpenCV's 8-bit YUV, then PyWavelets' Haar approximation of
    # U, with its arithmetic (columns then rows, each output h*x[2i+1] + h*x[2i] in float64):
    # many coefficients sit exactly on a decision boundary, so the rounding decides the bit
    u = cv2.cvtColor(np.ascontiguousarray(frame[:rows, :cols]), _ORDERS[order])[..., 1].astype(np.float64)
    columns = _HAAR * u[1::2] + _HAAR * u[0::2]
    approximation = _HAAR * columns[:, 1::2] + _HAAR * columns[:, 0::2]
    block_rows, block_cols = approximation.shape[0] // _BLOCK, approximation.shape[1] // _BLOCK
    blocks = (
        approximation[: block_rows * _BLOCK, : block_cols * _BLOCK]
        .reshape(block_rows, _BLOCK, block_cols, _BLOCK)
        .transpose(0, 2, 1, 3)
        .reshape(-1, _BLOCK * _BLOCK)
    )
    rest = np.abs(blocks[:, 1:])
    value = rest[np.arange(rest.shape[0]), np.argmax(rest, axis=1)]
    bits = (np.mod(value, _SCALE) > 0.5 * _SCALE).astype(np.float64)
    index = np.arange(bits.size) % REFERENCE_BITS
    ones = np.bincount(index, weights=bits, minlength=REFERENCE_BITS)
    counts = np.bincount(index, minlength=REFERENCE_BITS)
    return ones / np.maximum(counts, 1)


def detect_reference_watermark(frames: np.ndarray) -> ReferenceWatermarkDetection:
    """Look for Stability's fixed dwtDct mark in a clip (T, H, W, 3) or image (H, W, 3), uint8 RGB."""
    frames = np.asarray(frames)
    if frames.dtype != np.uint8 or frames.ndim not in (3, 4) or frames.shape[-1] != 3:
        raise ValueError(
            f"frames must be uint8 RGB of shape (T, H, W, 3) or (H, W, 3), got {frames.dtype} {frames.shape}"
        )
    clip = frames[None] if frames.ndim == 3 else frames
    if clip.shape[0] == 0 or min(clip.shape[1:3]) < 64:
        raise ValueError("need at least one frame of 64x64 pixels or more")
    total = clip.shape[0]
    indices = list(range(total))
    if total > MAX_ANALYSED_FRAMES:
        indices = sorted({int(round(i)) for i in np.linspace(0, total - 1, MAX_ANALYSED_FRAMES)})
    # Both channel orders on the first few frames, then the better one on the rest: whichever
    # is chosen, the factor 2 in the p-value covers having had two to choose from.
    head = indices[:ORDER_CHOICE_FRAMES]
    trial = {order: [block_votes(clip[i], order) for i in head] for order in _ORDERS}
    order = max(_ORDERS, key=lambda o: (int(np.sum((np.mean(trial[o], axis=0) > 0.5) == _MESSAGE)), o == "bgr"))
    votes = np.stack(trial[order] + [block_votes(clip[i], order) for i in indices[len(head) :]])
    matches = int(np.sum((votes.mean(axis=0) > 0.5) == _MESSAGE))
    p_value = min(1.0, len(_ORDERS) * binomial_tail(matches, REFERENCE_BITS))
    per_frame = ((votes > 0.5) == _MESSAGE).mean(axis=1)
    return ReferenceWatermarkDetection(
        detected=p_value <= REFERENCE_THRESHOLD_P_VALUE,
        p_value=p_value,
        threshold_p_value=REFERENCE_THRESHOLD_P_VALUE,
        bit_accuracy=matches / REFERENCE_BITS,
        matching_bits=matches,
        channel_order=order,
        frame_scores=[round(float(s), 4) for s in per_frame],
        frame_indices=indices,
        frames_total=total,
        frames_analysed=len(indices),
    )
