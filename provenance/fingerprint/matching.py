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


# -- temporal alignment --------------------------------------------------------------------------
#
# Per-frame hashes alone cannot tell one second of a shot from the next: the last frames of one
# second and the first of the next are near-duplicates, so "each query frame's closest registered
# frame" finds a close frame for every query frame of a neighbouring moment. A copy, unlike a
# neighbour, lines up with the registered clip *in order, over most of its length*: registered
# time = rate x query time + offset. The clip distance is therefore the median distance along the
# best such line, covering at least ALIGNED_SPAN of the shorter clip's duration on *both* clips'
# time axes (so a change of speed cannot squeeze a neighbour into a short overlap) and at least
# MIN_ALIGNED_FRAMES frames; a neighbour either overlaps by a frame or two (too short) or is
# forced onto frames a second away (far).

# playback speeds a copy may have (frame-rate changes are absorbed by timestamps, not by these)
RATES = (0.5, 2 / 3, 0.8, 1.0, 1.25, 1.5, 2.0)
MIN_ALIGNED_FRAMES = 8
# A copy lines up with the whole of the shorter clip (a trimmed copy lies inside the registered
# clip; a registered clip inside a longer upload lies inside the query); 0.9 leaves room for a
# frame or two lost at the ends. At 0.6, a neighbour one second away could be slid over by 0.4 s
# and compared with frames only 0.4 s from its own, which in a slow shot look the same.
ALIGNED_SPAN = 0.9
# frames of a clip whose frame rate is unknown are taken to be this far apart
ASSUMED_FPS = 25.0


class Alignment:
    """The best order-preserving line through a (query frames x registered frames) distance matrix."""

    __slots__ = ("distance", "matched", "overlap", "query_range", "registered_range", "variant")

    def __init__(
        self,
        distance: float,
        variant: int,
        overlap: np.ndarray | None,
        query_range: tuple[float, float] | None,
        registered_range: tuple[float, float] | None,
    ) -> None:
        self.distance = distance
        self.variant = variant
        self.overlap = overlap  # per query frame: its aligned distance, inf where it is outside the overlap
        self.query_range = query_range
        self.registered_range = registered_range


# Played backwards, a query must miss the threshold and sit at least this much farther from the
# clip than played forwards: the clip's own change over time has to stand out of the noise.
# (Measured on bench/fingerprint_neighbours.py: copies of moving shots sit 5-25 apart, neighbours
# of near-static shots within 0-2.)
ORDER_MARGIN = 3.0


def order_verified(
    distances: np.ndarray, query_times: np.ndarray, registered_times: np.ndarray, forward: float, threshold: float
) -> bool:
    """Does the match depend on the frames' order? The query played backwards must be clearly farther.

    A clip with little visible change over time (a locked-off shot, a still with a small moving
    part, a very slow move) is close to every moment of itself and of the seconds around it, in
    either direction: such a match cannot tell which moment it is, so it is not claimed."""
    reversed_times = query_times[-1] - query_times[::-1]
    backwards = align(distances[:, ::-1, :], reversed_times, registered_times)
    return bool(backwards.distance > threshold and backwards.distance >= forward + ORDER_MARGIN)


def _spacing(times: np.ndarray) -> float:
    return float(np.median(np.diff(times))) if len(times) > 1 else 1.0 / ASSUMED_FPS


def align(distances: np.ndarray, query_times: np.ndarray, registered_times: np.ndarray) -> Alignment:
    """``distances`` (variants, Q, R); times in seconds, ascending. Inf distance when no line qualifies."""
    variants, q_count, r_count = distances.shape
    if q_count == 0 or r_count == 0:
        return Alignment(float(UNKNOWN), 0, None, None, None)
    r_spacing = _spacing(registered_times)
    tolerance = 0.6 * r_spacing + 1e-6
    q_span = float(query_times[-1] - query_times[0]) + _spacing(query_times)
    r_span = float(registered_times[-1] - registered_times[0]) + r_spacing
    need_frames = min(MIN_ALIGNED_FRAMES, q_count, r_count)
    best = Alignment(float(UNKNOWN), 0, None, None, None)
    best_key = (float(UNKNOWN), 0)
    for rate in RATES:
        low = registered_times[0] - rate * query_times[-1]
        high = registered_times[-1] - rate * query_times[0]
        offsets = np.arange(low, high + r_spacing / 4, r_spacing / 2)
        aligned = rate * query_times[None, :] + offsets[:, None]  # (H, Q) registered time of each query frame
        right = np.clip(np.searchsorted(registered_times, aligned), 1, max(r_count - 1, 1))
        left = right - 1
        if r_count == 1:
            nearest = np.zeros_like(right)
        else:
            nearest = np.where(
                np.abs(registered_times[left] - aligned) <= np.abs(registered_times[right] - aligned), left, right
            )
        inside = np.abs(registered_times[nearest] - aligned) <= tolerance  # (H, Q)
        # the overlap must cover ALIGNED_SPAN of the shorter clip, measured on both time axes
        need_span = ALIGNED_SPAN * min(q_span, r_span)
        ranks = np.arange(q_count)
        for variant in range(variants):
            along = distances[variant][ranks[None, :], nearest]  # (H, Q)
            along = np.where(inside, along, UNKNOWN)
            counts = inside.sum(axis=1)
            first = np.where(inside.any(axis=1), inside.argmax(axis=1), 0)
            last = np.where(inside.any(axis=1), q_count - 1 - inside[:, ::-1].argmax(axis=1), 0)
            span = query_times[last] - query_times[first] + _spacing(query_times)
            registered_span = rate * (query_times[last] - query_times[first]) + r_spacing
            ok = (counts >= need_frames) & (span >= need_span - 1e-6) & (registered_span >= need_span - 1e-6)
            if not ok.any():
                continue
            ordered = np.sort(along, axis=1)
            lower = ordered[np.arange(len(counts)), np.maximum(counts - 1, 0) // 2]
            upper = ordered[np.arange(len(counts)), np.maximum(counts, 1) // 2]
            medians = np.where(ok, (lower + upper) / 2, UNKNOWN)
            h = int(np.lexsort((-counts, medians))[0])
            key = (float(medians[h]), -int(counts[h]))
            if key < best_key:
                best_key = key
                lo, hi = int(first[h]), int(last[h])
                best = Alignment(
                    float(medians[h]),
                    variant,
                    along[h],
                    (float(query_times[lo]), float(query_times[hi])),
                    (float(aligned[h, lo]), float(aligned[h, hi])),
                )
    return best
