"""How close two fingerprints are, and when that closeness is a claim.

Frame distance: Hamming distance over the bits strong in *both* frames, rescaled to 64 bits, so
frames with a few weak bits are compared fairly. Clip distance: for each query frame the closest
registered frame, then the median over query frames (robust to a few frames that went bad, and
indifferent to frame rate, trimming and order); the best geometry variant wins.

The threshold and the chance figures come from ``bench/fingerprint.py``: a null distribution of
clip distances between unrelated clips (scikit-image photographs and collages of them, with
pans and zooms), against clips that went through the transformations of the watermark benchmark.
"""

from __future__ import annotations

import math

import numpy as np

from provenance.fingerprint.frame_hash import HASH_BITS

# A clip-level claim: median distance at most this, from at least MIN_QUERY_FRAMES informative
# query frames. Transformed copies of photographic clips measured <= 3.6 (GIF and 25 % scale +
# CRF 40 the worst); unrelated clips never came below 9.6 in 726,652 comparisons.
MATCH_THRESHOLD = 5.0
MIN_QUERY_FRAMES = 3
# One or two frames (a still, a screenshot) say less, so their claim needs a closer match:
# single unrelated frames came down to 5.9.
STILL_MATCH_THRESHOLD = 3.0

# log10 P(an unrelated clip's distance <= d) ~= _TAIL_INTERCEPT + _TAIL_SLOPE * d, fitted to the
# measured null between its 1e-2 and 1e-5 quantiles; below that it is an extrapolation. Two
# benchmark runs gave -9.34 + 0.375 d and -10.15 + 0.420 d (3.5e-8 and 8.9e-9 at d = 5); the
# more pessimistic one is kept.
_TAIL_INTERCEPT = -9.34
_TAIL_SLOPE = 0.375
_STILL_TAIL_INTERCEPT = -7.84
_STILL_TAIL_SLOPE = 0.353

UNKNOWN = np.float32(np.inf)


def frame_distances(
    query_hashes: np.ndarray,
    query_strong: np.ndarray,
    stored_hashes: np.ndarray,
    stored_strong: np.ndarray,
) -> np.ndarray:
    """(m,) x (n,) uint64 -> (m, n) float32 distances on a 0..64 scale."""
    shared = query_strong[:, None] & stored_strong[None, :]
    differing = np.bitwise_count((query_hashes[:, None] ^ stored_hashes[None, :]) & shared)
    return pair_distances_from_counts(differing, np.bitwise_count(shared))


def pair_distances(
    query_hashes: np.ndarray, query_strong: np.ndarray, stored_hashes: np.ndarray, stored_strong: np.ndarray
) -> np.ndarray:
    """Element-wise distances of aligned pairs of frames."""
    shared = query_strong & stored_strong
    differing = np.bitwise_count((query_hashes ^ stored_hashes) & shared)
    return pair_distances_from_counts(differing, np.bitwise_count(shared))


def pair_distances_from_counts(differing: np.ndarray, shared: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        distance = differing.astype(np.float32) * np.float32(HASH_BITS) / shared.astype(np.float32)
    # Two informative frames share at least half their bits; fewer means a degenerate pair.
    return np.where(shared >= HASH_BITS // 2, distance, UNKNOWN)


def threshold_for(query_frames: int) -> float:
    return MATCH_THRESHOLD if query_frames >= MIN_QUERY_FRAMES else STILL_MATCH_THRESHOLD


def false_match_probability(distance: float, query_frames: int, registered_clips: int) -> float:
    """Chance that ``registered_clips`` unrelated clips hold one this close (null-model estimate)."""
    if not math.isfinite(distance):
        return 1.0
    if query_frames >= MIN_QUERY_FRAMES:
        log_per_clip = _TAIL_INTERCEPT + _TAIL_SLOPE * distance
    else:
        log_per_clip = _STILL_TAIL_INTERCEPT + _STILL_TAIL_SLOPE * distance
    per_clip = min(1.0, 10.0**log_per_clip)
    return float(min(1.0, -math.expm1(max(registered_clips, 1) * math.log1p(-min(per_clip, 1 - 1e-16)))))
