"""An in-memory registry of clip fingerprints with nearest-clip lookup.

Lookup is multi-index hashing: each registered 64-bit frame hash is filed under its four 16-bit
quarters. A query frame within Hamming distance r of a registered frame agrees exactly on at
least one quarter when r < 4; each quarter is also probed with each of the query's weak bits
flipped (the bits re-encoding flips), and with the 10-48 frames of a clip one clean quarter in
one frame is enough. The few clips those probes hit are then scored exactly -- the same clip
distance as ``search_brute_force``, which compares against every registered frame.

Frames added since the last table build are compared directly, so ``add`` is cheap; the tables
are rebuilt once that backlog passes a few thousand frames. The service fills the index at
start-up from stored ``(key, fingerprint bytes)`` rows with ``add_many`` and adds each new clip.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

import msgspec
import numpy as np

from provenance.fingerprint.fingerprint import Fingerprint
from provenance.fingerprint.frame_hash import ALL_VARIANT_NAMES, informative
from provenance.fingerprint.matching import (
    ASSUMED_FPS,
    HASH_BITS,
    MATCH_THRESHOLD,
    MIN_ALIGNED_FRAMES,
    MIN_QUERY_FRAMES,
    STILL_MATCH_THRESHOLD,
    align,
    false_match_probability,
    frame_distances,
    order_verified,
    pair_distances,
    threshold_for,
)

_QUARTERS = 4
_QUARTER_BITS = 16
_BUCKETS = 1 << _QUARTER_BITS
_SINGLE_BITS = np.array([1 << bit for bit in range(_QUARTER_BITS)], dtype=np.int64)
# A bucket this full holds a hash shared by very many frames (e.g. a common layout); probing it
# would cost more than it tells.
_MAX_BUCKET = 20_000
# Candidate pairs farther than this cannot be the frames that make a clip match.
_PAIR_LIMIT = 2 * MATCH_THRESHOLD
# Clips scored exactly per query, best candidate pairs first.
_MAX_CANDIDATE_CLIPS = 256
# Frames added since the last table build are compared with every query frame directly; past
# this many the tables are rebuilt (0.1-0.3 s for 2.5 million frames).
_MAX_BACKLOG = 4096
# Removed frames stay in the arrays (skipped) until they are this large a share.
_MAX_DEAD_SHARE = 0.25


class FingerprintMatch(msgspec.Struct, kw_only=True):
    """A registered clip close to the query.

    ``distance`` is the median masked Hamming distance (0..64; unrelated clips sit near 24) along
    the best temporal alignment of the query with the clip (see ``matching.align``): frames in
    order, over most of the shorter clip. A still (fewer than ``MIN_QUERY_FRAMES`` frames) has no
    order, so its distance is to the closest registered frame. ``is_match`` is
    ``distance <= threshold``; ``false_match_probability`` estimates how likely a registry of
    this size is to hold an unrelated clip this close. ``query_range_s`` / ``registered_range_s``
    are the aligned seconds of each. ``input_image_distance`` is the query's distance to the
    clip's registered input image (image-to-video), and ``matches_input_image`` says the query is
    explained by that image at least as well as by the motion the model added.
    """

    generation_key: str
    distance: float
    similarity: float
    matched_frames: int
    query_frames: int
    is_match: bool
    threshold: float
    variant: str
    false_match_probability: float
    query_range_s: tuple[float, float] | None = None
    registered_range_s: tuple[float, float] | None = None
    input_image_distance: float | None = None
    matches_input_image: bool = False
    # close along an alignment, but as close played backwards: the clip shows too little change over
    # time to tell its moments apart, so it is not a match
    order_unverified: bool = False


class FingerprintIndex:
    """Registered fingerprints, keyed by generation; safe to share between threads."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._key_slot: dict[str, int] = {}
        self._slot_keys: list[str | None] = []
        self._slot_start = np.zeros(0, np.int64)
        self._slot_length = np.zeros(0, np.int64)
        self._hashes = np.zeros(0, np.uint64)
        self._strong = np.zeros(0, np.uint64)
        self._frame_slot = np.zeros(0, np.int64)
        self._frame_alive = np.zeros(0, bool)
        self._times = np.zeros(0, np.float64)  # frame index in the source clip (seconds = index / fps)
        self._slot_fps: dict[int, float] = {}  # slot -> frame rate, where the fingerprint knew it
        self._inputs: dict[int, tuple[np.uint64, np.uint64]] = {}  # slot -> input image hash, strong bits
        self._frames = 0
        self._dead_frames = 0
        self._built = 0
        self._tables: list[tuple[np.ndarray, np.ndarray]] = []

    # -- registration ------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._key_slot)

    def __contains__(self, generation_key: object) -> bool:
        return generation_key in self._key_slot

    def add(self, generation_key: str, fingerprint: Fingerprint | bytes) -> int:
        """Register (or replace) a clip; returns how many of its frames can be matched."""
        with self._lock:
            added = self._append(generation_key, _as_fingerprint(fingerprint))
            if self._frames - self._built > _MAX_BACKLOG:
                self._build_tables()
            return added

    def add_many(self, items: Iterable[tuple[str, Fingerprint | bytes]]) -> int:
        """Register many clips (start-up load from the database); one table build at the end."""
        with self._lock:
            count = 0
            for generation_key, fingerprint in items:
                self._append(generation_key, _as_fingerprint(fingerprint))
                count += 1
            self._build_tables()
            return count

    def remove(self, generation_key: str) -> bool:
        with self._lock:
            slot = self._key_slot.pop(generation_key, None)
            if slot is None:
                return False
            start, length = self._slot_start[slot], self._slot_length[slot]
            self._frame_alive[start : start + length] = False
            self._slot_keys[slot] = None
            self._inputs.pop(slot, None)
            self._slot_fps.pop(slot, None)
            self._dead_frames += int(length)
            if self._dead_frames > max(_MAX_BACKLOG, _MAX_DEAD_SHARE * self._frames):
                self._compact()
            return True

    def _append(self, generation_key: str, fingerprint: Fingerprint) -> int:
        if generation_key in self._key_slot:
            self.remove(generation_key)
        usable = informative(fingerprint.strong[0])
        hashes, strong = fingerprint.hashes[0][usable], fingerprint.strong[0][usable]
        count = len(hashes)
        self._reserve(self._frames + count)
        slot = len(self._slot_keys)
        start = self._frames
        self._hashes[start : start + count] = hashes
        self._strong[start : start + count] = strong
        self._times[start : start + count] = fingerprint.frame_indices[usable]
        if fingerprint.fps:
            self._slot_fps[slot] = float(fingerprint.fps)
        if fingerprint.input_hash is not None and fingerprint.input_strong is not None:
            self._inputs[slot] = (fingerprint.input_hash, fingerprint.input_strong)
        self._frame_slot[start : start + count] = slot
        self._frame_alive[start : start + count] = True
        self._frames += count
        self._slot_keys.append(generation_key)
        self._slot_start = _grow(self._slot_start, slot + 1)
        self._slot_length = _grow(self._slot_length, slot + 1)
        self._slot_start[slot], self._slot_length[slot] = start, count
        self._key_slot[generation_key] = slot
        return count

    def _reserve(self, frames: int) -> None:
        if frames <= len(self._hashes):
            return
        capacity = max(frames, 2 * len(self._hashes), 1024)
        self._hashes = _resized(self._hashes, capacity)
        self._strong = _resized(self._strong, capacity)
        self._frame_slot = _resized(self._frame_slot, capacity)
        self._frame_alive = _resized(self._frame_alive, capacity)
        self._times = _resized(self._times, capacity)

    def _compact(self) -> None:
        keep = self._frame_alive[: self._frames]
        live = [(key, slot) for key, slot in self._key_slot.items()]
        old_start, old_length = self._slot_start, self._slot_length
        self._hashes = self._hashes[: self._frames][keep].copy()
        self._strong = self._strong[: self._frames][keep].copy()
        self._times = self._times[: self._frames][keep].copy()
        old_inputs, self._inputs = self._inputs, {}
        old_fps, self._slot_fps = self._slot_fps, {}
        self._frames = len(self._hashes)
        self._frame_alive = np.ones(self._frames, bool)
        self._slot_keys, self._key_slot = [], {}
        self._slot_start = np.zeros(len(live), np.int64)
        self._slot_length = np.zeros(len(live), np.int64)
        self._frame_slot = np.zeros(self._frames, np.int64)
        position = 0
        for new_slot, (key, slot) in enumerate(sorted(live, key=lambda item: old_start[item[1]])):
            length = int(old_length[slot])
            self._slot_keys.append(key)
            self._key_slot[key] = new_slot
            if slot in old_inputs:
                self._inputs[new_slot] = old_inputs[slot]
            if slot in old_fps:
                self._slot_fps[new_slot] = old_fps[slot]
            self._slot_start[new_slot], self._slot_length[new_slot] = position, length
            self._frame_slot[position : position + length] = new_slot
            position += length
        self._dead_frames = 0
        self._build_tables()

    def _build_tables(self) -> None:
        hashes = self._hashes[: self._frames]
        tables = []
        for quarter in range(_QUARTERS):
            keys = ((hashes >> np.uint64(quarter * _QUARTER_BITS)) & np.uint64(_BUCKETS - 1)).astype(np.uint16)
            order = np.argsort(keys, kind="stable")  # radix sort on 16-bit keys
            offsets = np.zeros(_BUCKETS + 1, np.int64)
            np.cumsum(np.bincount(keys, minlength=_BUCKETS), out=offsets[1:])
            tables.append((order, offsets))
        self._tables = tables
        self._built = self._frames

    # -- lookup ------------------------------------------------------------------------------------

    def search(
        self, fingerprint: Fingerprint | bytes, max_results: int = 5, *, matches_only: bool = True
    ) -> list[FingerprintMatch]:
        """Registered clips closest to ``fingerprint``, best first.

        With ``matches_only`` (the default) only clips within the calibrated threshold come back;
        otherwise also the near misses the probes found (not an exhaustive ranking).
        """
        query = _Query(_as_fingerprint(fingerprint))
        if query.frames == 0:
            return []
        with self._lock:
            slots = self._candidate_slots(query)
            return self._score(query, slots, max_results, matches_only)

    def search_brute_force(
        self, fingerprint: Fingerprint | bytes, max_results: int = 5, *, matches_only: bool = True
    ) -> list[FingerprintMatch]:
        """The same answer as ``search`` by comparing with every registered frame (the baseline)."""
        query = _Query(_as_fingerprint(fingerprint))
        if query.frames == 0:
            return []
        with self._lock:
            occupied = np.flatnonzero(self._slot_length[: len(self._slot_keys)] > 0)
            if len(occupied) == 0:
                return []
            starts = self._slot_start[occupied]
            hashes, strong = self._hashes[: self._frames], self._strong[: self._frames]
            # best[v, i, s]: closest frame of slot s to query frame i under variant v
            best = np.empty((query.variants, query.frames, len(occupied)), np.float32)
            for variant in range(query.variants):
                for row in range(query.frames):
                    distances = pair_distances(query.hashes[variant, row], query.strong[variant, row], hashes, strong)
                    best[variant, row] = np.minimum.reduceat(distances, starts)
            alive = np.array([self._slot_keys[slot] is not None for slot in occupied])
            results = []
            for position, slot in enumerate(occupied):
                if not alive[position]:
                    continue
                matrix = None
                start, length = int(self._slot_start[slot]), int(self._slot_length[slot])
                if _worth_aligning(query, best[:, :, position], length):
                    matrix = frame_distances(
                        query.hashes.reshape(-1),
                        query.strong.reshape(-1),
                        hashes[start : start + length],
                        strong[start : start + length],
                    )
                results.append(self._result(query, int(slot), best[:, :, position], matrix))
        return _ranked(results, max_results, matches_only)

    def _candidate_slots(self, query: _Query) -> np.ndarray:
        by_frames = self._frame_candidates(query)
        by_input = self._input_candidates(query)
        if len(by_input) == 0:
            return by_frames
        extra = by_input[~np.isin(by_input, by_frames)]
        return np.concatenate([by_frames, extra])

    def _input_candidates(self, query: _Query) -> np.ndarray:
        """Clips whose registered input image is close to enough query frames (compared directly:
        input images are one hash per image-to-video generation)."""
        if not self._inputs:
            return np.zeros(0, np.int64)
        slots = np.fromiter(self._inputs, np.int64, len(self._inputs))
        images = np.array([self._inputs[int(slot)] for slot in slots], np.uint64)
        distances = frame_distances(query.hashes[0], query.strong[0], images[:, 0], images[:, 1])  # (Q, inputs)
        close = (distances <= STILL_MATCH_THRESHOLD).sum(axis=0) >= min(MIN_QUERY_FRAMES, query.frames)
        return slots[close][:_MAX_CANDIDATE_CLIPS]

    def _frame_candidates(self, query: _Query) -> np.ndarray:
        hashes = query.hashes.reshape(-1)
        strong = query.strong.reshape(-1)
        found_frames: list[np.ndarray] = []
        found_rows: list[np.ndarray] = []
        for quarter, (order, offsets) in enumerate(self._tables):
            probes, rows = _probes(hashes, strong, quarter)
            starts, ends = offsets[probes], offsets[probes + 1]
            lengths = ends - starts
            lengths[lengths > _MAX_BUCKET] = 0
            total = int(lengths.sum())
            if total == 0:
                continue
            found_frames.append(order[_concatenated_ranges(starts, lengths, total)])
            found_rows.append(np.repeat(rows, lengths))
        if self._built < self._frames:  # backlog since the last build: compare directly
            backlog = np.arange(self._built, self._frames)
            found_frames.append(np.tile(backlog, len(hashes)))
            found_rows.append(np.repeat(np.arange(len(hashes)), len(backlog)))
        if not found_frames:
            return np.zeros(0, np.int64)
        frames = np.concatenate(found_frames)
        rows = np.concatenate(found_rows)
        distance = pair_distances(hashes[rows], strong[rows], self._hashes[frames], self._strong[frames])
        close = (distance <= _PAIR_LIMIT) & self._frame_alive[frames]
        if not close.any():
            return np.zeros(0, np.int64)
        slots, distance = self._frame_slot[frames[close]], distance[close]
        order = np.lexsort((slots, distance))
        slots = slots[order]
        _, first = np.unique(slots, return_index=True)
        return slots[np.sort(first)][:_MAX_CANDIDATE_CLIPS]

    def _score(self, query: _Query, slots: np.ndarray, max_results: int, matches_only: bool) -> list[FingerprintMatch]:
        if len(slots) == 0:
            return []
        lengths = self._slot_length[slots]
        frames = _concatenated_ranges(self._slot_start[slots], lengths, int(lengths.sum()))
        distances = frame_distances(
            query.hashes.reshape(-1), query.strong.reshape(-1), self._hashes[frames], self._strong[frames]
        )
        segment_starts = np.cumsum(lengths) - lengths
        best = np.minimum.reduceat(distances, segment_starts, axis=1).reshape(query.variants, query.frames, -1)
        results = []
        for position, slot in enumerate(slots):
            matrix = None
            if _worth_aligning(query, best[:, :, position], int(lengths[position])):
                start = int(segment_starts[position])
                matrix = distances[:, start : start + int(lengths[position])]
            results.append(self._result(query, int(slot), best[:, :, position], matrix))
        return _ranked(results, max_results, matches_only)

    def _result(self, query: _Query, slot: int, best: np.ndarray, matrix: np.ndarray | None) -> FingerprintMatch:
        """``best`` (variants, query frames): each query frame's distance to its closest frame of the clip;
        ``matrix`` (variants x query frames, clip frames): every pair, when the clip is worth aligning."""
        threshold = threshold_for(query.frames)
        query_range = registered_range = None
        static = False
        if query.frames < MIN_QUERY_FRAMES:  # a still: no order to check
            medians = np.median(best, axis=1)
            variant = int(np.argmin(medians))
            distance = float(medians[variant])
            matched = int((best[variant] <= threshold).sum())
        elif matrix is None:  # too few close frames for any alignment to reach the threshold
            variant, distance, matched = 0, float(np.median(best[0])) + HASH_BITS, 0
        else:
            start, length = int(self._slot_start[slot]), int(self._slot_length[slot])
            # a side whose frame rate is unknown is taken to run at the other's (or ASSUMED_FPS)
            clip_fps = self._slot_fps.get(slot) or query.fps or ASSUMED_FPS
            times = self._times[start : start + length] / clip_fps
            query_times = query.indices / (query.fps or clip_fps)
            order = np.argsort(times, kind="stable")
            ordered = matrix.reshape(query.variants, query.frames, length)[:, :, order]
            alignment = align(ordered, query_times, times[order])
            variant, distance = alignment.variant, alignment.distance
            if distance <= threshold and not order_verified(ordered, query_times, times[order], distance, threshold):
                static = True
            matched = int((alignment.overlap <= threshold).sum()) if alignment.overlap is not None else 0
            query_range, registered_range = alignment.query_range, alignment.registered_range
            if not np.isfinite(distance):  # no line long enough: report the order-free distance, as a miss
                distance = float(np.median(best[0])) + HASH_BITS
        distance = min(distance, float(HASH_BITS))
        input_distance, matches_input = None, False
        if slot in self._inputs:
            image_hash, image_strong = self._inputs[slot]
            to_image = np.sort(
                pair_distances(
                    query.hashes[0],
                    query.strong[0],
                    np.full(query.frames, image_hash),
                    np.full(query.frames, image_strong),
                )
            )
            # "some frames are this image": the k-th closest frame, k = MIN_QUERY_FRAMES (or every frame of a still)
            near = float(to_image[min(MIN_QUERY_FRAMES, query.frames) - 1])
            input_distance = round(near, 2) if np.isfinite(near) else None
            # explained by the image at least as well as by the motion the model added to it
            matches_input = bool(
                near <= STILL_MATCH_THRESHOLD and (distance > threshold or np.median(to_image) <= distance)
            )
        is_match = bool(distance <= threshold) and not static
        registered = len(self._key_slot)
        return FingerprintMatch(
            generation_key=self._slot_keys[slot] or "",
            distance=round(distance, 2),
            similarity=round(float(np.clip(1.0 - distance / (HASH_BITS / 2), 0.0, 1.0)), 3),
            matched_frames=matched,
            query_frames=query.frames,
            is_match=is_match or matches_input,
            threshold=threshold,
            variant=ALL_VARIANT_NAMES[variant],
            false_match_probability=false_match_probability(distance, query.frames, registered),
            query_range_s=_rounded(query_range),
            registered_range_s=_rounded(registered_range),
            input_image_distance=input_distance,
            matches_input_image=matches_input,
            order_unverified=static,
        )


class _Query:
    """The informative frames of a query fingerprint, all variants."""

    def __init__(self, fingerprint: Fingerprint) -> None:
        usable = informative(fingerprint.strong[0])
        self.hashes = np.ascontiguousarray(fingerprint.hashes[:, usable])
        self.strong = np.ascontiguousarray(fingerprint.strong[:, usable])
        self.indices = fingerprint.frame_indices[usable].astype(np.float64)
        self.fps = fingerprint.fps
        self.variants, self.frames = self.hashes.shape


def _worth_aligning(query: _Query, best: np.ndarray, clip_frames: int) -> bool:
    """Can any alignment reach the threshold? It needs at least half of its minimum overlap
    within the threshold of *some* frame, whatever the order: a necessary condition, so skipping
    the rest changes no answer."""
    need = -(-min(MIN_ALIGNED_FRAMES, query.frames, clip_frames) // 2)
    return bool(((best <= MATCH_THRESHOLD).sum(axis=1) >= need).any())


def _rounded(span: tuple[float, float] | None) -> tuple[float, float] | None:
    return (round(span[0], 2), round(span[1], 2)) if span else None


def _probes(hashes: np.ndarray, strong: np.ndarray, quarter: int) -> tuple[np.ndarray, np.ndarray]:
    """Bucket keys to look up for one quarter: the exact key, and the key with each of the query's
    weak bits in that quarter flipped (weak bits are the ones re-encoding flips; strong bits flip
    rarely enough that another quarter or another frame catches the clip)."""
    shift = np.uint64(quarter * _QUARTER_BITS)
    mask = np.uint64(_BUCKETS - 1)
    keys = ((hashes >> shift) & mask).astype(np.int64)
    weak = (~(strong >> shift) & mask).astype(np.int64)
    flips = weak[:, None] & _SINGLE_BITS[None, :]  # (rows, 16): a weak bit, or 0
    candidates = np.concatenate([keys[:, None], keys[:, None] ^ flips], axis=1)
    wanted = np.concatenate([np.ones((len(keys), 1), bool), flips != 0], axis=1)
    rows = np.broadcast_to(np.arange(len(keys))[:, None], candidates.shape)
    return candidates[wanted], rows[wanted]


def _concatenated_ranges(starts: np.ndarray, lengths: np.ndarray, total: int) -> np.ndarray:
    """[starts[0], starts[0]+lengths[0]) ++ [starts[1], ...) ... as one index array."""
    offsets = np.repeat(np.cumsum(lengths) - lengths - starts, lengths)
    return np.arange(total) - offsets


def _ranked(results: list[FingerprintMatch], max_results: int, matches_only: bool) -> list[FingerprintMatch]:
    if matches_only:
        results = [result for result in results if result.is_match]
    results.sort(key=lambda result: (result.distance, result.generation_key))
    return results[:max_results]


def _as_fingerprint(fingerprint: Fingerprint | bytes) -> Fingerprint:
    if isinstance(fingerprint, (bytes, bytearray, memoryview)):
        return Fingerprint.from_bytes(bytes(fingerprint))
    return fingerprint


def _resized(array: np.ndarray, capacity: int) -> np.ndarray:
    grown = np.zeros(capacity, array.dtype)
    grown[: len(array)] = array
    return grown


def _grow(array: np.ndarray, size: int) -> np.ndarray:
    return array if size <= len(array) else _resized(array, max(size, 2 * len(array), 1024))
