"""Reposts that move the picture: bars and borders around it, flips, rotations, a clip inside a
longer video, small clips. Each through a real H.264 encode; unmarked copies must stay clear,
and every extra hypothesis the search tries must be in the counted false-positive bound."""

import numpy as np
import pytest

from bench import transforms as attacks
from provenance.media import decode_video, encode_mp4_bytes
from provenance.watermark import Keyring, WatermarkKey, detect_watermark, embed_watermark, lattice
from provenance.watermark import detect as detection
from provenance.watermark.analysis import luma
from provenance.watermark.region import content_region
from provenance.watermark.residuals import ClipResiduals

IDENTIFIER = 0x0123_4567_89AB_CDEF
FPS = 8


def h264(frames, crf=23):
    frames = frames[:, : frames.shape[1] // 2 * 2, : frames.shape[2] // 2 * 2]
    return decode_video(encode_mp4_bytes(np.ascontiguousarray(frames), fps=FPS, crf=crf, preset="veryfast")).frames


@pytest.fixture(scope="module")
def marked(photo_clip, key):
    return embed_watermark(photo_clip, IDENTIFIER, key)


REPOSTS = {
    "portrait over a blurred copy": lambda f: attacks.portrait_repost(f, 360, 640),
    "padded to a square": attacks.pad_square,
    "inside a decorated border at 80 %": lambda f: attacks.decorated_border(f, 0.8, 1),
    "vertical flip": attacks.vertical_flip,
    "rotated 90": lambda f: attacks.rotate_quarter(f, 1),
    "rotated 180": lambda f: attacks.rotate_quarter(f, 2),
    "rotated 270": lambda f: attacks.rotate_quarter(f, 3),
    "rotated 2, zoomed": lambda f: attacks.rotate(f, 2.0, zoom=True),
    "rotated 5": lambda f: attacks.rotate(f, 5.0),
    "rotated -10": lambda f: attacks.rotate(f, -10.0),
    # VideoSeal's resized crop to 55 % of each side: a zoom of 1.82, past the scale sweep's old 1.8.
    "VideoSeal resized crop 0.55": lambda f: attacks.resized_crop(f, 0.55),
}


@pytest.mark.parametrize("name", list(REPOSTS))
def test_repost_is_found(marked, keyring, name):
    result = detect_watermark(h264(REPOSTS[name](marked)), keyring)
    assert result.detected, (name, result.sync_score)
    assert result.identifier == IDENTIFIER
    assert result.p_value <= result.threshold_p_value
    assert result.hypotheses_tried <= detection.MAX_HYPOTHESES_PER_KEY * len(keyring)


@pytest.mark.parametrize("name", ["padded to a square", "rotated 5", "rotated 90", "vertical flip"])
def test_unmarked_repost_stays_clear(photo_clip, keyring, name):
    result = detect_watermark(h264(REPOSTS[name](photo_clip)), keyring)
    assert not result.detected
    assert result.identifier is None and result.p_value == 1.0
    assert result.hypotheses_tried <= detection.MAX_HYPOTHESES_PER_KEY * len(keyring)


@pytest.mark.parametrize("seed", [0, 3])
def test_perspective_is_found(marked, keyring, seed):
    """Corners moved by up to 8 % of each side (one by the full amount): no affine grid fits
    the whole picture, the fitted homography does. (This 8-frame clip is weak: the rate over
    random warps is the benchmark's to measure, not this test's.)"""
    result = detect_watermark(h264(attacks.perspective(marked, 0.08, seed)), keyring)
    assert result.detected and result.identifier == IDENTIFIER, result.sync_score
    assert result.hypotheses_tried <= detection.MAX_HYPOTHESES_PER_KEY * len(keyring)


def test_filmed_off_a_screen_is_found(marked, keyring):
    result = detect_watermark(h264(attacks.filmed_off_screen(marked, 3)), keyring)
    assert result.detected and result.identifier == IDENTIFIER, result.sync_score


def test_perspective_fit_recovers_a_known_homography():
    """Blocks whose tiles sit where a known homography puts them: one fit returns it."""
    from provenance.watermark import perspective

    truth = np.array([[1.03, 0.08, 2.0], [-0.02, 0.97, -1.5], [1e-4, -2e-4, 1.0]])
    u, v = np.meshgrid(np.arange(32.0, 256.0, 32.0), np.arange(32.0, 160.0, 32.0))
    centres = np.stack([u.ravel(), v.ravel()], axis=1)
    # the grid is the identity, so block centre c lies at picture point c, whose true tile
    # coordinate is truth^-1(c): the shift is c minus that
    shifts = centres - perspective.apply(np.linalg.inv(truth), centres)
    fitted, count = perspective.fit(np.eye(3), centres, shifts)
    assert count == len(centres)
    assert np.allclose(perspective.apply(fitted, centres), perspective.apply(truth, centres), atol=1e-3)


def test_rotation_is_reported(marked, keyring):
    result = detect_watermark(h264(attacks.rotate(marked, 5.0)), keyring)
    assert result.detected and result.rotation is not None
    # the registration maps the tile to the picture: a 5 degree anticlockwise turn on screen
    # is -5 in image coordinates (y down), modulo the lattice's quarter turns
    assert min(abs(result.rotation - turn) for turn in (-5.0, 85.0, -95.0, 175.0, -185.0)) < 0.5


def test_region_is_reported_for_bars(marked, keyring):
    padded = attacks.pad_square(marked)
    result = detect_watermark(h264(padded), keyring)
    assert result.detected
    top = (padded.shape[1] - marked.shape[1]) // 2
    assert result.content_region is not None
    assert abs(result.content_region[0] - top) <= 2 and abs(result.content_region[1] - (top + marked.shape[1])) <= 2


def test_content_region_finds_bars_and_borders_and_leaves_full_frames(photo_clip):
    padded = attacks.pad_square(photo_clip)
    region = content_region([luma(f) for f in padded])
    top = (padded.shape[1] - photo_clip.shape[1]) // 2
    assert region is not None
    assert (region.top, region.bottom, region.left, region.right) == (
        top,
        top + photo_clip.shape[1],
        0,
        padded.shape[2],
    )
    assert content_region([luma(f) for f in photo_clip]) is None


def test_inset_region_finds_a_picture_in_picture_over_moving_footage(photo_clip):
    from bench.watermark_scenes import scene
    from provenance.watermark.region import inset_regions

    background = scene("subjects", 4, len(photo_clip), (640, 360))
    inset = attacks.picture_in_picture(photo_clip, background, 0.4, "top-left")
    regions = inset_regions([luma(f) for f in h264(inset)])
    w = int(640 * 0.4) // 2 * 2
    h = int(round(360 * w / 640)) // 2 * 2
    margin = int(0.04 * 640)
    assert regions, "no inset found"
    best = regions[0]
    assert abs(best.top - margin) <= 2 and abs(best.left - margin) <= 2
    assert abs(best.bottom - (margin + h)) <= 2 and abs(best.right - (margin + w)) <= 2
    # footage without an inset offers none that covers a quarter of each side along straight edges
    assert all(r.bottom - r.top < 0.9 * 360 for r in inset_regions([luma(f) for f in h264(photo_clip)]))


def test_picture_in_picture_at_40_percent_is_found(marked, keyring):
    from bench.watermark_scenes import scene

    background = scene("subjects", 4, len(marked), (640, 360))
    result = detect_watermark(h264(attacks.picture_in_picture(marked, background, 0.4, "top-left")), keyring)
    assert result.detected and result.identifier == IDENTIFIER, result.sync_score
    assert result.hypotheses_tried <= detection.MAX_HYPOTHESES_PER_KEY * len(keyring)


def test_lattice_gives_rotation_and_period(marked):
    rotated = attacks.rotate(marked, 7.0)
    residuals = ClipResiduals(rotated, list(range(len(rotated)))).picture_residuals("clip")
    found = lattice.find_lattices(np.mean(residuals, axis=0))
    best = found[0]
    turn = np.degrees(best.angle) % 90
    assert min(abs(turn - 83.0), abs(turn - 7.0)) < 0.5
    assert best.period == pytest.approx(64.0, rel=0.01)


def test_hypothesis_budget_is_the_sum_of_the_stages():
    per_profile = detection.LIST_SIZE + detection.SYNC_CANDIDATES * 3 + detection.EXACT_DECODES * detection.LIST_SIZE
    expected = (
        2 * per_profile
        + detection.REGION_HYPOTHESES
        + detection.INSET_REGIONS * detection.REGION_HYPOTHESES
        + lattice.LATTICE_CANDIDATES * detection.SYNC_CANDIDATES
        + detection.AFFINE_EXACT_DECODES * detection.LIST_SIZE
        + detection.PERSPECTIVE_STARTS * detection.LIST_SIZE
        + detection.MAX_WINDOWS * detection.WINDOW_HYPOTHESES
    )
    assert expected == detection.MAX_HYPOTHESES_PER_KEY
    # two keys stay well inside the operating threshold, and the bound grows with the keyring
    assert 2 * expected * 2.0**-32 <= 1e-6


def test_bound_reported_counts_every_key(photo_clip):
    keys = [WatermarkKey(i, bytes([i]) * 32) for i in range(1, 4)]
    result = detect_watermark(photo_clip[:2], Keyring(keys))
    assert result.false_positive_bound == pytest.approx(3 * detection.MAX_HYPOTHESES_PER_KEY * 2.0**-32)


def test_clip_inside_longer_video_is_found_with_its_time_range(key, keyring):
    from bench.watermark_scenes import scene

    clip = scene("faces", 3, 3 * FPS, (320, 180))
    other = scene("cartoon", 5, 40, (320, 180))
    marked = embed_watermark(clip, IDENTIFIER, key)
    video = h264(attacks.inside_longer(marked, other, FPS, 20.0, 9.0))
    result = detect_watermark(video, keyring, fps=FPS)
    assert result.detected and result.identifier == IDENTIFIER
    assert len(result.segments) == 1
    segment = result.segments[0]
    assert segment.identifier == IDENTIFIER and segment.p_value <= 1e-6
    assert abs(segment.start_s - 9.0) <= 0.5 and abs(segment.end_s - 12.0) <= 0.5
    # and the same footage without the clip is clear after the window search
    clear = detect_watermark(h264(attacks.inside_longer(clip, other, FPS, 20.0, 9.0)), keyring, fps=FPS)
    assert not clear.detected and not clear.segments
    assert clear.hypotheses_tried <= detection.MAX_HYPOTHESES_PER_KEY * len(keyring)


def test_whole_clip_is_one_segment(marked, keyring):
    result = detect_watermark(h264(marked), keyring, fps=FPS)
    assert result.detected
    assert [(s.start_frame, s.end_frame) for s in result.segments] == [(0, len(marked) - 1)]
    assert result.segments[0].end_s == pytest.approx(len(marked) / FPS)


@pytest.mark.parametrize("size", [(176, 144), (228, 128)])
def test_small_clip_is_found(photo_clip, key, keyring, size):
    from bench.transforms import resize_all

    small = embed_watermark(resize_all(photo_clip, *size), IDENTIFIER, key)
    result = detect_watermark(h264(small, crf=18), keyring)
    assert result.detected and result.identifier == IDENTIFIER


def test_small_empirical_null_over_the_new_searches(keyring):
    """Unmarked scenes of every kind, through reposts that send the search down every stage
    (region, lattice, windows): nothing verifies, and every search stays inside its budget."""
    from bench.watermark_scenes import KINDS, scene

    reposts = [
        attacks.pad_square,
        attacks.vertical_flip,
        lambda f: attacks.rotate(f, 5.0),
        lambda f: attacks.rotate_quarter(f, 1),
        lambda f: attacks.perspective(f, 0.08, 5),
        lambda f: attacks.filmed_off_screen(f, 5, 320, 180),
    ]
    tried = 0
    for index, kind in enumerate(KINDS):
        clip = scene(kind, 100 + index, 14, (320, 180))
        result = detect_watermark(h264(reposts[index % len(reposts)](clip)), keyring)
        assert not result.detected, kind
        assert result.hypotheses_tried <= detection.MAX_HYPOTHESES_PER_KEY * len(keyring)
        tried += result.hypotheses_tried
    assert tried > len(KINDS) * detection.LIST_SIZE  # the searches did run
