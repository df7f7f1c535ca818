"""Detection: register, aggregate soft bits over frames, decode, verify under each key.

The decision is "some tried hypothesis decodes to a message whose 32 check bits verify
under a key in the keyring". For a clip that does not carry that key's mark, each decode
yields a message the key's pseudo-random permutation maps to 32 uniformly random check
bits, so each hypothesis passes with probability 2**-32 whatever the content; a union
bound over every hypothesis the search could try (MAX_HYPOTHESES_PER_KEY per key) bounds
the per-clip false-positive rate. That bound is the operating threshold; the p-value
sharpens it with how well the soft bits agree with the decoded codeword (see docs).
"""

from __future__ import annotations

from dataclasses import dataclass

import msgspec
import numpy as np

from provenance.watermark import analysis, ecc, lattice, perspective, sync
from provenance.watermark.keys import Keyring, WatermarkKey
from provenance.watermark.layout import CODED_BITS, TileLayout, layout_for
from provenance.watermark.payload import CHECK_BITS, MESSAGE_BITS, bits_to_int, decipher_message
from provenance.watermark.region import Region, content_region, inset_regions
from provenance.watermark.residuals import PROFILES, AffineAligned, AlignedResiduals, ClipResiduals
from provenance.watermark.stats import binomial_tail

ALGORITHM = "originframe.wm.v1"
THRESHOLD_P_VALUE = 1e-6
MAX_ANALYSED_FRAMES = 64
SYNC_CANDIDATES = 2  # pilot peaks decoded per scale
# After the quick decodes (from the clip's mean residual, interpolated), the strongest
# registration is decoded once more from residuals re-sampled from the frames themselves,
# if its pilot is clearly there: worth it after a crop, wasted on unmarked content.
# A second re-decode weights frames by their own pilot strength (maximal-ratio combining):
# after strong compression an intra frame can carry several times the mark of the frames
# predicted from it.
# Those re-decodes keep the LIST_SIZE likeliest messages and take the first whose check bits
# verify; each listed message is one more hypothesis in the false-positive count. So does the
# nominal registration (the picture as marked), decoded first and always with the list: on
# small or busy clips the content's chance peaks can outrank its pilot.
EXACT_PILOT_Z = 6.0
EXACT_DECODES = 2
LIST_SIZE = 8
# Then the lattice search (lattice.py): for each of the LATTICE_CANDIDATES rotations and
# periods the clip's spectrum shows, the SYNC_CANDIDATES best of the eight orientations
# (quarter turns, mirror) and their shifts are decoded quickly; the AFFINE_EXACT_DECODES
# strongest of those whose pilot stands out (AFFINE_PILOT_Z) again from the frames, with the list.
AFFINE_PILOT_Z = 5.0
# Lattices whose spectral evidence is below this are not sampled (unmarked content scores
# 1-3); the registration looks at LATTICE_FRAMES frames, evenly spaced, the decodes at all.
LATTICE_MIN_SCORE = 3.5
LATTICE_FRAMES = 16
AFFINE_EXACT_DECODES = 2
LATTICE_HYPOTHESES = lattice.LATTICE_CANDIDATES * SYNC_CANDIDATES + AFFINE_EXACT_DECODES * LIST_SIZE
# Perspective (perspective.py): from the picture as marked and from the lattice search's
# PERSPECTIVE_STARTS - 1 strongest registrations, a homography is fitted to the tile-sized
# blocks' own pilot shifts, a few rounds; each grid it settles on is decoded once, with the list.
PERSPECTIVE_STARTS = 3
# Decoded only where the fitted grid shows the pilot (on unmarked footage the rounds settle on
# chance peaks: z 2.7-4, at most 3 agreeing blocks; marked clips under perspective: z >= 5, 7+ blocks).
PERSPECTIVE_PILOT_Z = 4.5
PERSPECTIVE_MIN_BLOCKS = 4
PERSPECTIVE_HYPOTHESES = PERSPECTIVE_STARTS * LIST_SIZE
# A frame that shows more than the clip (bars, a blurred copy behind it, a border): the
# content region (region.py), when one is found, is decoded as a whole picture on the clip
# grid: the nominal registration with the list, the pilot's two peaks, and the nominal again
# from frames weighted by their pilot, with the list.
REGION_HYPOTHESES = LIST_SIZE + SYNC_CANDIDATES + LIST_SIZE  # and the nominal re-decoded with frame weights
# An inset over other footage (picture-in-picture): its straight static edges give up to
# INSET_REGIONS rectangles (region.inset_regions), each decoded the same way.
INSET_REGIONS = 2
# A video longer than a clip (a compilation, an intro, a stream recording) dilutes a marked
# stretch in the whole-video average. When the whole video does not verify, it is searched
# in at most MAX_WINDOWS overlapping windows of the analysed frames (half-window hop), each
# decoded as a whole picture (the nominal registration with the list, and the pilot's two
# peaks): WINDOW_HYPOTHESES per window.
MAX_WINDOWS = 15
MIN_WINDOW_FRAMES = 6
WINDOW_HYPOTHESES = LIST_SIZE + SYNC_CANDIDATES
MAX_HYPOTHESES_PER_KEY = (
    len(PROFILES) * (LIST_SIZE + SYNC_CANDIDATES * (1 + sync.SCALE_CANDIDATES) + EXACT_DECODES * LIST_SIZE)
    + REGION_HYPOTHESES
    + INSET_REGIONS * REGION_HYPOTHESES
    + LATTICE_HYPOTHESES
    + PERSPECTIVE_HYPOTHESES
    + MAX_WINDOWS * WINDOW_HYPOTHESES
)
# A frame belongs to a marked segment when its correlation with the decoded template reaches
# this many standard deviations (unmarked frames: 0 +- 1-3, marked: 5-20). Descriptive only:
# the segment's evidence is the decode that found it.
SEGMENT_FRAME_SCORE = 3.0


class WatermarkSegment(msgspec.Struct, kw_only=True):
    """A stretch of the suspect video that carries one identifier."""

    start_frame: int  # first and last frame (indices into the suspect video) of the stretch
    end_frame: int
    start_s: float | None  # the same in seconds, when the frame rate is known
    end_s: float | None
    identifier: int
    key_id: int
    p_value: float


class WatermarkDetection(msgspec.Struct, kw_only=True):
    detected: bool
    p_value: float  # probability that an unmarked clip produces evidence this strong (upper bound)
    threshold_p_value: float
    false_positive_bound: float  # per-clip false-positive rate of the decision rule, by counting
    identifier: int | None
    key_id: int | None
    algorithm: str
    frame_scores: list[float]  # per analysed frame: correlation with the key's template, in standard deviations
    frame_indices: list[int]
    frames_total: int
    frames_analysed: int
    bit_errors: int | None  # coded bits the error correction repaired (of coded_bits)
    coded_bits: int
    hypotheses_tried: int
    profile: str | None  # "clip" or "still": the mark's grid (clips are marked coarser than stills)
    scale: float | None  # tile scale found (1.0 for an uncropped picture at any resolution)
    shift: tuple[float, float] | None
    mirrored: bool | None
    sync_score: float  # pilot correlation of the best registration, in standard deviations
    rotation: float | None = None  # degrees, anticlockwise as displayed, when found by the lattice search
    content_region: tuple[int, int, int, int] | None = (
        None  # (top, bottom, left, right) pixels, when the clip filled only part of the frame
    )
    segments: list[WatermarkSegment] = msgspec.field(default_factory=list)  # which time ranges carry which identifier


def _as_clip(frames: np.ndarray) -> np.ndarray:
    frames = np.asarray(frames)
    if frames.dtype != np.uint8 or frames.ndim not in (3, 4) or frames.shape[-1] != 3:
        raise ValueError(
            f"frames must be uint8 RGB of shape (T, H, W, 3) or (H, W, 3), got {frames.dtype} {frames.shape}"
        )
    clip = frames[None] if frames.ndim == 3 else frames
    if clip.shape[0] == 0:
        raise ValueError("no frames to analyse")
    if min(clip.shape[1:3]) < analysis.MIN_SIDE:
        raise ValueError(f"frames of {clip.shape[2]}x{clip.shape[1]} are too small to analyse")
    return clip


def _frame_indices(count: int) -> list[int]:
    if count <= MAX_ANALYSED_FRAMES:
        return list(range(count))
    return sorted({int(round(i)) for i in np.linspace(0, count - 1, MAX_ANALYSED_FRAMES)})


@dataclass
class _Decode:
    profile: str
    registration: sync.Registration | sync.AffineRegistration | perspective.ProjectiveRegistration
    key: WatermarkKey
    identifier: int | None
    symbols: np.ndarray
    agreements: int
    aligned: AlignedResiduals | AffineAligned | None


def _decode_values(
    values: np.ndarray, key: WatermarkKey, layout: TileLayout, list_size: int = 1
) -> tuple[int | None, np.ndarray, int]:
    soft = analysis.soft_bits(values, layout)
    candidates = [ecc.decode(soft, MESSAGE_BITS)] if list_size == 1 else ecc.decode_list(soft, MESSAGE_BITS, list_size)
    for message_bits in candidates:
        identifier = decipher_message(bits_to_int(message_bits), key)
        if identifier is not None:
            break
    else:
        message_bits = candidates[0]
    symbols = 2.0 * ecc.encode(message_bits).astype(np.float32) - 1.0
    return identifier, symbols, int(np.sum(np.sign(soft) == symbols))


def _quick_decode(
    clip: ClipResiduals,
    mean: np.ndarray,
    profile: str,
    registration: sync.Registration,
    key: WatermarkKey,
    layout: TileLayout,
    list_size: int = 1,
) -> _Decode:
    aligned = clip.interpolated(profile, registration, [mean])
    values = analysis.sample_values(aligned.tile(registration.mirrored))
    identifier, symbols, agreements = _decode_values(values, key, layout, list_size)
    return _Decode(profile, registration, key, identifier, symbols, agreements, None)


def _exact_decode(
    clip: ClipResiduals,
    profile: str,
    registration: sync.Registration,
    key: WatermarkKey,
    layout: TileLayout,
    aligned: AlignedResiduals | None = None,
    weights: np.ndarray | None = None,
) -> _Decode:
    aligned = clip.exact(profile, registration) if aligned is None else aligned
    values = analysis.sample_values(aligned.tile(registration.mirrored, weights=weights))
    identifier, symbols, agreements = _decode_values(values, key, layout, LIST_SIZE)
    return _Decode(profile, registration, key, identifier, symbols, agreements, aligned)


def _p_value(agreements: int, hypotheses: int) -> float:
    # P(check bits verify) * P(some message's codeword agrees this well), by the union bound
    closeness = min(1.0, 2.0**MESSAGE_BITS * binomial_tail(agreements, CODED_BITS))
    return min(1.0, hypotheses * 2.0**-CHECK_BITS * closeness)


def _frame_scores(aligned: AlignedResiduals | AffineAligned, mirrored: bool, template: np.ndarray) -> list[float]:
    scores = []
    norm = float(np.sqrt(np.sum(template * template))) or 1.0
    for index in range(len(aligned.residuals)):
        values = analysis.sample_values(aligned.tile(mirrored, slice(index, index + 1)))
        spread = float(values.std()) or 1.0
        scores.append(round(float(np.sum(values * template)) / (spread * norm), 3))
    return scores


def _registrations(mean: np.ndarray, keys: list[WatermarkKey], stage: str):
    """(key, layout, registration, list size) to decode at one stage: "picture" assumes the frame
    shows the whole marked picture at any resolution (the nominal registration first, then the
    pilot's peaks); "search" sweeps the tile scale (crops)."""
    for key in keys:
        layout = layout_for(key)
        if stage == "picture":
            nominal, peaks = sync.register_picture(mean, layout, SYNC_CANDIDATES)
            yield key, layout, nominal, LIST_SIZE
            for registration in peaks:
                if not sync.same_peak(registration, nominal):
                    yield key, layout, registration, 1
            continue
        for scale in sync.scale_search(mean, layout):
            for registration in sync.register(mean, scale, layout, SYNC_CANDIDATES):
                yield key, layout, registration, 1


def detect_watermark(frames: np.ndarray, keyring: Keyring, fps: float | None = None) -> WatermarkDetection:
    """Look for an Originframe watermark under any key in `keyring`, in a clip (T, H, W, 3) or image (H, W, 3).

    Long clips are sampled: at most MAX_ANALYSED_FRAMES evenly spaced frames are analysed
    (`frame_indices` says which). `segments` says which stretches carry the mark (in seconds
    too when `fps` is given); a video whose whole does not verify is searched in windows."""
    array = _as_clip(frames)
    indices = _frame_indices(array.shape[0])
    clip = ClipResiduals(array, indices)
    result = _search(array, indices, clip, keyring)
    if not result.detected:
        result = _window_search(array, indices, clip, keyring, result, fps)
    if result.detected and not result.segments:
        result.segments = _segments(result, indices, fps)
    return result


def _segments(
    result: WatermarkDetection, indices: list[int], fps: float | None, within: tuple[int, int] | None = None
) -> list[WatermarkSegment]:
    """Runs of analysed frames whose score reaches SEGMENT_FRAME_SCORE (gaps of one frame
    bridged), as stretches of the video; `within` (analysed positions) limits where."""
    assert result.identifier is not None and result.key_id is not None
    low, high = within if within is not None else (0, len(indices) - 1)
    marked = [low <= i <= high and score >= SEGMENT_FRAME_SCORE for i, score in enumerate(result.frame_scores)]
    if len(indices) == 1 or not any(marked):
        marked = [low <= i <= high for i in range(len(indices))]
    runs: list[tuple[int, int]] = []
    for position, flag in enumerate(marked):
        if not flag:
            continue
        if runs and position - runs[-1][1] <= 2:
            runs[-1] = (runs[-1][0], position)
        else:
            runs.append((position, position))
    segments = []
    for first, last in runs:
        # a stretch reaches halfway to the neighbouring analysed frames it does not include
        start = indices[first] if first == 0 else (indices[first - 1] + indices[first] + 1) // 2
        end = indices[last] if last == len(indices) - 1 else (indices[last] + indices[last + 1]) // 2
        segments.append(
            WatermarkSegment(
                start_frame=start,
                end_frame=end,
                start_s=round(start / fps, 3) if fps else None,
                end_s=round((end + 1) / fps, 3) if fps else None,
                identifier=result.identifier,
                key_id=result.key_id,
                p_value=result.p_value,
            )
        )
    return segments


def _window_search(
    array: np.ndarray,
    indices: list[int],
    clip: ClipResiduals,
    keyring: Keyring,
    whole: WatermarkDetection,
    fps: float | None = None,
) -> WatermarkDetection:
    count = len(indices)
    if count < 2 * MIN_WINDOW_FRAMES:
        return whole
    length = max(MIN_WINDOW_FRAMES, -(-2 * count // (MAX_WINDOWS + 1)))
    hop = max(length // 2, 1)
    starts = list(range(0, count - length + 1, hop))[:MAX_WINDOWS]
    tried = whole.hypotheses_tried
    for start in starts:
        sub = clip.window(start, start + length)
        mean = np.mean(sub.picture_residuals("clip"), axis=0)
        for key, layout, registration, list_size in _registrations(mean, keyring.keys, "picture"):
            tried += list_size
            decoded = _quick_decode(sub, mean, "clip", registration, key, layout, list_size)
            if decoded.identifier is None:
                continue
            # scores over the whole video at the window's registration, to find the stretch
            decoded.aligned = clip.exact("clip", registration)
            bound = len(keyring) * MAX_HYPOTHESES_PER_KEY * 2.0**-CHECK_BITS
            found = _result(decoded, indices, array.shape[0], tried, bound, keyring, True)
            found.segments = _segments(found, indices, fps, within=_grow(found.frame_scores, start, start + length - 1))
            return found
    whole.hypotheses_tried = tried
    return whole


def _grow(scores: list[float], first: int, last: int) -> tuple[int, int]:
    """The window, widened over neighbouring frames that still score as marked."""
    while first > 0 and scores[first - 1] >= SEGMENT_FRAME_SCORE:
        first -= 1
    while last < len(scores) - 1 and scores[last + 1] >= SEGMENT_FRAME_SCORE:
        last += 1
    return first, last


def _search(array: np.ndarray, indices: list[int], clip: ClipResiduals, keyring: Keyring) -> WatermarkDetection:
    keys = keyring.keys
    bound = len(keys) * MAX_HYPOTHESES_PER_KEY * 2.0**-CHECK_BITS
    tried = 0
    single = len(indices) == 1

    def finish(decoded: _Decode, detected: bool) -> WatermarkDetection:
        return _result(decoded, indices, array.shape[0], tried, bound, keyring, detected)

    # A single frame is likelier a marked still, a clip likelier a marked clip; both are tried,
    # cheap whole-picture hypotheses first, then the scale sweep on both grids.
    profiles = ["still", "clip"] if single else ["clip", "still"]
    strongest: dict[str, _Decode] = {}
    for stage in ("picture", "search"):
        for profile in profiles:
            # the scale sweep runs on both grids: the still grid is twice as fine, so on it a
            # clip shown at about half the frame's size (picture-in-picture) is near scale 1
            residuals = clip.picture_residuals(profile)
            mean = np.mean(residuals, axis=0) if len(residuals) > 1 else residuals[0]
            for key, layout, registration, list_size in _registrations(mean, keys, stage):
                tried += list_size
                decoded = _quick_decode(clip, mean, profile, registration, key, layout, list_size)
                if decoded.identifier is not None:
                    decoded.aligned = clip.exact(profile, registration)  # for the per-frame scores
                    return finish(decoded, True)
                if profile not in strongest or registration.pilot_z > strongest[profile].registration.pilot_z:
                    strongest[profile] = decoded
    for profile in profiles:
        candidate = strongest[profile]
        if candidate.registration.pilot_z < EXACT_PILOT_Z:
            continue
        assert isinstance(candidate.registration, sync.Registration)
        registration, key, layout = candidate.registration, candidate.key, layout_for(candidate.key)
        aligned = clip.exact(profile, registration)
        tried += LIST_SIZE
        decoded = _exact_decode(clip, profile, registration, key, layout, aligned)
        if decoded.identifier is not None:
            return finish(decoded, True)
        weights = aligned.pilot_weights(registration.mirrored, layout.pilot)
        if weights is not None:
            tried += LIST_SIZE
            decoded = _exact_decode(clip, profile, registration, key, layout, aligned, weights)
            if decoded.identifier is not None:
                return finish(decoded, True)
    region = content_region(clip.luma)
    regions = ([region] if region is not None else []) + inset_regions(clip.luma, INSET_REGIONS)
    for region in regions:
        in_region, tried = _region_search(clip, region, keys, tried)
        if in_region is not None:
            found = finish(in_region, True)
            found.content_region = (region.top, region.bottom, region.left, region.right)
            return found
    on_lattice, tried, starts = _lattice_search(clip, keys, tried)
    if on_lattice is not None:
        return finish(on_lattice, True)
    in_perspective, tried = _perspective_search(clip, keys, starts, tried)
    if in_perspective is not None:
        return finish(in_perspective, True)
    best = max(strongest.values(), key=lambda d: d.registration.pilot_z)
    assert isinstance(best.registration, sync.Registration)
    best.aligned = clip.interpolated(best.profile, best.registration)
    return finish(best, False)


def _region_search(
    clip: ClipResiduals, region: Region, keys: list[WatermarkKey], tried: int
) -> tuple[_Decode | None, int]:
    """The part of the frame that holds the clip, decoded as a whole picture on the clip grid."""
    inner = ClipResiduals.from_luma([y[region.top : region.bottom, region.left : region.right] for y in clip.luma])
    if min(inner.height, inner.width) < analysis.MIN_SIDE:
        return None, tried
    residuals = inner.picture_residuals("clip")
    mean = np.mean(residuals, axis=0) if len(residuals) > 1 else residuals[0]
    nominals = []
    for key, layout, registration, list_size in _registrations(mean, keys, "picture"):
        tried += list_size
        decoded = _quick_decode(inner, mean, "clip", registration, key, layout, list_size)
        if decoded.identifier is not None:
            decoded.aligned = inner.exact("clip", registration)
            return decoded, tried
        if list_size == LIST_SIZE:
            nominals.append((key, layout, registration))
    # a small inset's frames differ most in how much of the mark the codec left them: the
    # nominal registration once more with the frames weighted by their own pilot
    for key, layout, registration in nominals:
        aligned = inner.exact("clip", registration)
        weights = aligned.pilot_weights(registration.mirrored, layout.pilot)
        if weights is None:
            continue
        tried += LIST_SIZE
        decoded = _exact_decode(inner, "clip", registration, key, layout, aligned, weights)
        if decoded.identifier is not None:
            return decoded, tried
    return None, tried


def _lattice_search(
    clip: ClipResiduals, keys: list[WatermarkKey], tried: int
) -> tuple[_Decode | None, int, list[tuple[sync.AffineRegistration, WatermarkKey, TileLayout]]]:
    """Rotation, scale, quarter turns, mirrors and any placement in the frame: the lattices the
    spectrum shows, each sampled from the frames on its own grid, registered against each
    key's pilot (orientation and shift), decoded. When none verifies, also the registrations
    tried, strongest pilot first."""
    residuals = clip.picture_residuals("clip")
    mean = np.mean(residuals, axis=0) if len(residuals) > 1 else residuals[0]
    strongest: list[tuple[sync.AffineRegistration, WatermarkKey, TileLayout]] = []
    for found in lattice.find_lattices(mean):
        if found.score < LATTICE_MIN_SCORE:
            continue
        base = sync.lattice_registration(found)
        sampled = clip.exact_affine(base, LATTICE_FRAMES)
        for key in keys:
            layout = layout_for(key)
            for pilot_z, inner in sync.register_orientations(sampled.mean(), sampled.mask, layout, SYNC_CANDIDATES):
                # sampled again from the frames at the registration's fractional shift: the
                # pilot's finest detail is lost to interpolation between tile-grid samples
                registration = sync.compose(base, inner, pilot_z)
                aligned = clip.exact_affine(registration, LATTICE_FRAMES).block_weighted(layout.pilot)
                tried += 1
                identifier, symbols, agreements = _decode_values(analysis.sample_values(aligned.tile()), key, layout)
                if identifier is not None:
                    return _Decode("clip", registration, key, identifier, symbols, agreements, aligned), tried, []
                strongest.append((registration, key, layout))
    strongest.sort(key=lambda item: -item[0].pilot_z)
    for registration, key, layout in strongest[:AFFINE_EXACT_DECODES]:
        if registration.pilot_z < AFFINE_PILOT_Z:
            break
        tried += LIST_SIZE
        aligned = clip.exact_affine(registration).block_weighted(layout.pilot)
        identifier, symbols, agreements = _decode_values(analysis.sample_values(aligned.tile()), key, layout, LIST_SIZE)
        if identifier is not None:
            return _Decode("clip", registration, key, identifier, symbols, agreements, aligned), tried, []
    return None, tried, strongest


def _perspective_search(
    clip: ClipResiduals,
    keys: list[WatermarkKey],
    lattice_registrations: list[tuple[sync.AffineRegistration, WatermarkKey, TileLayout]],
    tried: int,
) -> tuple[_Decode | None, int]:
    """A picture seen at an angle: per key, from the picture as marked and from the lattice
    search's strongest registrations, a homography fitted to the blocks' pilot shifts,
    decoded with the list."""
    layouts = [layout_for(key) for key in keys]
    linear = perspective.corrections(clip.height, clip.width)
    identity = np.eye(3)
    nominal = clip.exact_projective(identity, LATTICE_FRAMES)
    nominal_blocks = (
        [None] * len(keys)
        if nominal is None
        else perspective.block_search(nominal[0].mean(), nominal[0].mask, nominal[1], layouts, linear)
    )
    for key, layout, blocks in zip(keys, layouts, nominal_blocks, strict=True):
        starts: list[tuple[np.ndarray, tuple[np.ndarray, np.ndarray] | None]] = [(identity, blocks)]
        for registration, owner, _ in lattice_registrations:
            if owner is key and len(starts) < PERSPECTIVE_STARTS:
                starts.append((perspective.as_projective(np.asarray(registration.matrix)), None))
        for start, first in starts:
            refined = _refine_perspective(clip, start, layout, linear, first)
            if refined is None or refined.pilot_z < PERSPECTIVE_PILOT_Z or refined.blocks < PERSPECTIVE_MIN_BLOCKS:
                continue
            found = clip.exact_projective(np.asarray(refined.matrix))
            if found is None:
                continue
            tried += LIST_SIZE
            aligned = found[0].block_weighted(layout.pilot)
            identifier, symbols, agreements = _decode_values(
                analysis.sample_values(aligned.tile()), key, layout, LIST_SIZE
            )
            if identifier is not None:
                return _Decode("clip", refined, key, identifier, symbols, agreements, aligned), tried
    return None, tried


def _refine_perspective(
    clip: ClipResiduals,
    start: np.ndarray,
    layout: TileLayout,
    linear: np.ndarray,
    first: tuple[np.ndarray, np.ndarray] | None = None,
) -> perspective.ProjectiveRegistration | None:
    """Rounds of: sample the frames on the current grid, measure each block's pilot shift (the
    first round under local corrections too, `first` when already measured), fit the grid to
    them. None when too few blocks show the pilot to fit anything."""
    matrix, blocks, z = start, 0, 0.0
    for round_ in range(perspective.ITERATIONS):
        if round_ == 0 and first is not None:
            centres, shifts = first
        else:
            sampled = clip.exact_projective(matrix, LATTICE_FRAMES)
            if sampled is None:
                return None
            aligned, low = sampled
            mean = aligned.mean()
            if round_ == 0:
                centres, shifts = perspective.block_search(mean, aligned.mask, low, [layout], linear)[0]
            else:
                z = perspective.pilot_z(mean, aligned.mask, layout)[0]
                centres, shifts = perspective.block_shifts(mean, aligned.mask, low, layout)
        fitted = perspective.fit(
            matrix, centres, shifts, perspective.FIRST_THRESHOLD if round_ == 0 else perspective.RANSAC_THRESHOLD
        )
        if fitted is None:
            break
        matrix, blocks = fitted
        if round_ > 0 and float(np.median(np.hypot(shifts[:, 0], shifts[:, 1]))) < perspective.CONVERGED:
            break
    if blocks == 0:
        return None
    (a, b, c), (d, e, f), (g, h, i) = matrix.tolist()
    return perspective.ProjectiveRegistration(((a, b, c), (d, e, f), (g, h, i)), z, blocks)


def _result(
    decoded: _Decode,
    indices: list[int],
    total: int,
    tried: int,
    bound: float,
    keyring: Keyring,
    detected: bool,
) -> WatermarkDetection:
    layout = layout_for(decoded.key)
    registration = decoded.registration
    assert decoded.aligned is not None  # finish() is only given decodes with their aligned residuals
    if detected:
        template = layout.tile_from_symbols(decoded.symbols)
        p_value = _p_value(decoded.agreements, len(keyring) * MAX_HYPOTHESES_PER_KEY)
    else:
        template = layout.pilot
        p_value = 1.0
    return WatermarkDetection(
        detected=detected and p_value <= THRESHOLD_P_VALUE,
        p_value=p_value,
        threshold_p_value=THRESHOLD_P_VALUE,
        false_positive_bound=bound,
        identifier=decoded.identifier if detected else None,
        key_id=decoded.key.key_id if detected else None,
        algorithm=ALGORITHM,
        frame_scores=_frame_scores(decoded.aligned, registration.mirrored, template),
        frame_indices=indices,
        frames_total=total,
        frames_analysed=len(indices),
        bit_errors=CODED_BITS - decoded.agreements if detected else None,
        coded_bits=CODED_BITS,
        hypotheses_tried=tried,
        profile=decoded.profile if detected else None,
        scale=round(registration.scale, 4) if detected else None,
        shift=(round(registration.shift[0], 2), round(registration.shift[1], 2)) if detected else None,
        mirrored=registration.mirrored if detected else None,
        sync_score=round(registration.pilot_z, 2),
        rotation=round(registration.angle, 2)
        if detected and isinstance(registration, (sync.AffineRegistration, perspective.ProjectiveRegistration))
        else None,
    )


def channel_accuracy(frames: np.ndarray, identifier: int, key: WatermarkKey) -> float:
    """For benchmarks, which know the truth: the fraction of coded bits read correctly before
    error correction, at the best registration the detector's search finds."""
    from provenance.watermark.embed import message_symbols

    array = _as_clip(frames)
    clip = ClipResiduals(array, _frame_indices(array.shape[0]))
    profile = "still" if array.shape[0] == 1 else "clip"
    layout = layout_for(key)
    truth = message_symbols(identifier, key)
    best = 0.0
    mean = np.mean(clip.picture_residuals(profile), axis=0)
    hypotheses = [*_registrations(mean, [key], "picture"), *_registrations(mean, [key], "search")]
    for _, _, registration, _ in hypotheses:
        soft = analysis.soft_bits(
            analysis.sample_values(clip.exact(profile, registration).tile(registration.mirrored)), layout
        )
        best = max(best, float(np.mean(np.sign(soft) == truth)))
    return best
