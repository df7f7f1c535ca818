"""Fingerprints and the registry, on real photographs re-encoded with real H.264 (PyAV)."""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
import skimage.data
from PIL import Image

from provenance.errors import FingerprintError
from provenance.fingerprint import (
    MATCH_THRESHOLD,
    Fingerprint,
    FingerprintIndex,
    compute_fingerprint,
)
from provenance.media import decode_video, encode_mp4_bytes

WIDTH, HEIGHT, FRAMES, FPS = 320, 180, 25, 8


def _pan_zoom(image: np.ndarray, seed: int) -> np.ndarray:
    """A 25-frame clip panning and zooming across a photograph."""
    rng = np.random.default_rng(seed)
    height, width = image.shape[:2]

    def window() -> np.ndarray:
        scale = rng.uniform(0.55, 0.9)
        w = min(width, height * WIDTH / HEIGHT) * scale
        h = w * HEIGHT / WIDTH
        return np.array([rng.uniform(0, width - w), rng.uniform(0, height - h), w, h])

    start, end = window(), window()
    frames = []
    for t in range(FRAMES):
        x, y, w, h = start + (end - start) * t / (FRAMES - 1)
        warp = np.array([[w / WIDTH, 0, x], [0, h / HEIGHT, y]])
        frames.append(cv2.warpAffine(image, warp, (WIDTH, HEIGHT), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP))
    return np.stack(frames)


def _rgb(image: np.ndarray) -> np.ndarray:
    return np.stack([image] * 3, axis=-1) if image.ndim == 2 else image[..., :3]


@pytest.fixture(scope="module")
def clips() -> dict[str, np.ndarray]:
    photos = {
        "astronaut": skimage.data.astronaut(),
        "coffee": skimage.data.coffee(),
        "chelsea": skimage.data.chelsea(),
        "rocket": skimage.data.rocket(),
        "camera": _rgb(skimage.data.camera()),
        "hubble": skimage.data.hubble_deep_field(),
    }
    return {name: _pan_zoom(image, seed) for seed, (name, image) in enumerate(photos.items())}


@pytest.fixture(scope="module")
def index(clips) -> FingerprintIndex:
    registry = FingerprintIndex()
    rng = np.random.default_rng(3)
    # unrelated registrations so that lookups have something to get wrong
    noise = [(f"synthetic-{i}", _synthetic_fingerprint(rng)) for i in range(2000)]
    registry.add_many(noise + [(name, compute_fingerprint(frames)) for name, frames in clips.items()])
    return registry


def _synthetic_fingerprint(rng: np.random.Generator) -> Fingerprint:
    hashes = rng.integers(0, 2**64 - 1, (4, 25), dtype=np.uint64, endpoint=True)
    return Fingerprint(hashes=hashes, strong=np.full((4, 25), np.uint64(2**64 - 1)), frame_indices=np.arange(25))


def _reencode(frames: np.ndarray, crf: int, fps: float = FPS) -> np.ndarray:
    return decode_video(encode_mp4_bytes(frames, fps=fps, crf=crf, preset="veryfast")).frames


def _resize(frames: np.ndarray, width: int, height: int) -> np.ndarray:
    return np.stack([cv2.resize(f, (width, height), interpolation=cv2.INTER_AREA) for f in frames])


def _center_crop(frames: np.ndarray, fraction: float) -> np.ndarray:
    height, width = frames.shape[1:3]
    h, w = int(height * fraction) // 2 * 2, int(width * fraction) // 2 * 2
    top, left = (height - h) // 2, (width - w) // 2
    return frames[:, top : top + h, left : left + w]


def _gif_roundtrip(frames: np.ndarray) -> np.ndarray:
    images = [Image.fromarray(f).quantize(256, dither=Image.Dither.FLOYDSTEINBERG) for f in frames]
    buffer = io.BytesIO()
    images[0].save(buffer, "GIF", save_all=True, append_images=images[1:], duration=125, loop=0)
    return decode_video(buffer.getvalue()).frames


TRANSFORMS = {
    "h264 crf 40": lambda f: _reencode(f, 40),
    "25% scale, crf 30": lambda f: _reencode(_resize(f, WIDTH // 4 // 2 * 2, HEIGHT // 4 // 2 * 2), 30),
    "center crop 80%": lambda f: _reencode(_center_crop(f, 0.8), 23),
    "brightness +20%": lambda f: _reencode(np.clip(f * 1.2, 0, 255).astype(np.uint8), 23),
    "gamma 0.7": lambda f: _reencode((255 * (f / 255.0) ** 0.7).round().astype(np.uint8), 23),
    "half frame rate": lambda f: _reencode(f[::2], 23, FPS / 2),
    "middle 1 s": lambda f: _reencode(f[len(f) // 2 - FPS // 2 : len(f) // 2 + FPS // 2], 23),
    "horizontal flip": lambda f: _reencode(f[:, :, ::-1], 23),
    "gif": _gif_roundtrip,
}


@pytest.mark.parametrize("transform", list(TRANSFORMS))
def test_transformed_clip_is_found_among_unrelated_registrations(clips, index, transform):
    for name in ("astronaut", "rocket"):
        query = compute_fingerprint(TRANSFORMS[transform](clips[name]))
        matches = index.search(query)
        assert matches and matches[0].generation_key == name, (transform, name, matches)
        best = matches[0]
        assert best.is_match and best.distance <= MATCH_THRESHOLD
        assert best.matched_frames >= best.query_frames // 2
        assert best.false_match_probability < 1e-3


def test_flip_and_crop_are_explained_by_the_matching_variant(clips, index):
    flipped = index.search(compute_fingerprint(clips["coffee"][:, :, ::-1]))
    cropped = index.search(compute_fingerprint(_center_crop(clips["coffee"], 0.8)))
    assert flipped[0].variant == "mirrored" and cropped[0].variant == "crop-80"


def test_unrelated_clips_do_not_match_each_other(clips):
    registry = FingerprintIndex()
    names = list(clips)
    registry.add(names[0], compute_fingerprint(clips[names[0]]))
    for name in names[1:]:
        query = compute_fingerprint(_reencode(clips[name], 28))
        assert registry.search(query) == []
        (nearest,) = registry.search_brute_force(query, matches_only=False)
        assert not nearest.is_match and nearest.distance > 2 * MATCH_THRESHOLD


def test_index_lookup_agrees_with_brute_force(clips, index):
    query = compute_fingerprint(_reencode(_resize(clips["chelsea"], 160, 90), 35))
    assert index.search(query) == index.search_brute_force(query)


def test_flat_gradient_is_not_informative_and_never_claims_a_match(index):
    ramp = np.linspace(0, 255, WIDTH, dtype=np.float32)[None, :, None] * np.ones((HEIGHT, 1, 3), np.float32)
    gradient = np.repeat(ramp.astype(np.uint8)[None], FRAMES, axis=0)
    fingerprint = compute_fingerprint(gradient)
    assert fingerprint.informative_frames == 0
    assert index.search(fingerprint) == []
    registry = FingerprintIndex()
    assert registry.add("gradient", fingerprint) == 0
    assert registry.search(compute_fingerprint(gradient)) == []


def test_fingerprint_round_trips_through_bytes(clips):
    fingerprint = compute_fingerprint(clips["camera"], fps=FPS)
    restored = Fingerprint.from_bytes(fingerprint.to_bytes())
    assert np.array_equal(restored.hashes, fingerprint.hashes)
    assert np.array_equal(restored.strong, fingerprint.strong)
    assert np.array_equal(restored.frame_indices, fingerprint.frame_indices)
    assert restored.fps == FPS and restored.frame_count == FRAMES
    assert len(fingerprint.to_bytes()) < 2000
    assert fingerprint.soft_binding_value()


@pytest.mark.parametrize(
    "data", [b"", b"OFP", b"XYZ\x01" + bytes(12), None], ids=["empty", "short", "magic", "truncated"]
)
def test_corrupt_stored_fingerprint_raises_the_domain_error(clips, data):
    if data is None:
        data = compute_fingerprint(clips["camera"]).to_bytes()[:-5]
    with pytest.raises(FingerprintError):
        Fingerprint.from_bytes(data)


def test_bad_frames_raise_the_domain_error():
    with pytest.raises(FingerprintError):
        compute_fingerprint(np.zeros((0, 16, 16, 3), np.uint8))
    with pytest.raises(FingerprintError):
        compute_fingerprint(np.zeros((2, 16, 16, 3), np.float32))


def test_index_rebuilds_from_stored_rows_and_supports_remove_and_replace(clips):
    rows = [(name, compute_fingerprint(frames).to_bytes()) for name, frames in clips.items()]
    registry = FingerprintIndex()
    assert registry.add_many(rows) == len(rows)
    assert len(registry) == len(rows) and "astronaut" in registry

    query = compute_fingerprint(_reencode(clips["astronaut"], 30))
    assert registry.search(query)[0].generation_key == "astronaut"
    assert registry.remove("astronaut") and not registry.remove("astronaut")
    assert registry.search(query) == []

    registry.add("astronaut-again", rows[0][1])  # added after the build: found through the backlog
    assert registry.search(query)[0].generation_key == "astronaut-again"
    registry.add("astronaut-again", compute_fingerprint(clips["coffee"]))  # replaced
    assert registry.search(query) == [] and len(registry) == len(rows)


def test_still_frame_lookup_uses_the_stricter_threshold(clips, index):
    still = _reencode(clips["rocket"], 23)[12]
    (match,) = index.search(compute_fingerprint(still))[:1]
    assert match.generation_key == "rocket" and match.query_frames == 1


# -- moments of one shot (issue 18) --------------------------------------------------------------


def _long_pan(image: np.ndarray, seconds: int, fps: int = 25) -> np.ndarray:
    """A slow, continuous pan across a photograph: ~10 % of the frame width per second."""
    height, width = image.shape[:2]
    w = min(width * 0.6, height * 0.9 * WIDTH / HEIGHT)
    h = w * HEIGHT / WIDTH
    count = seconds * fps
    frames = []
    for t in range(count):
        x = (width - w) * t / (count - 1)
        warp = np.array([[w / WIDTH, 0, x], [0, h / HEIGHT, (height - h) / 2]])
        frames.append(cv2.warpAffine(image, warp, (WIDTH, HEIGHT), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP))
    return np.stack(frames)


@pytest.fixture(scope="module")
def shot() -> np.ndarray:
    return _long_pan(skimage.data.astronaut(), 4)


def test_the_next_second_of_a_shot_is_not_the_registered_second(shot):
    registry = FingerprintIndex()
    registry.add("second-0", compute_fingerprint(shot[:25], fps=25))
    registry.add("second-2", compute_fingerprint(shot[50:75], fps=25))
    for start in (25, 75):  # the unregistered seconds in between, re-encoded
        query = compute_fingerprint(_reencode(shot[start : start + 25], 23, fps=25), fps=25)
        assert registry.search(query) == [] and registry.search_brute_force(query) == []
    copy = compute_fingerprint(_reencode(shot[50:75], 23, fps=25), fps=25)
    [match] = registry.search(copy)
    assert match.generation_key == "second-2" and match.matched_frames >= 20
    assert match.query_range_s[1] - match.query_range_s[0] >= 0.8
    assert abs(match.registered_range_s[0] - match.query_range_s[0]) < 0.1  # aligned frame for frame


def test_a_trimmed_copy_at_another_frame_rate_is_aligned_in_time(shot):
    registry = FingerprintIndex()
    registry.add("clip", compute_fingerprint(shot[:75], fps=25))
    middle = shot[25:50:2]  # one second from the middle, at half the frame rate
    [match] = registry.search(compute_fingerprint(_reencode(middle, 23, fps=12.5), fps=12.5))
    assert match.generation_key == "clip"
    assert 0.9 <= match.registered_range_s[0] <= 1.1


def test_a_clip_without_change_over_time_is_not_claimed():
    image = skimage.data.coffee()
    still = cv2.resize(image, (WIDTH, HEIGHT), interpolation=cv2.INTER_AREA)
    locked_off = np.stack([still] * 25)
    registry = FingerprintIndex()
    registry.add("static", compute_fingerprint(locked_off, fps=25))
    query = compute_fingerprint(_reencode(locked_off, 23, fps=25), fps=25)
    assert registry.search(query) == []
    [near] = registry.search(query, matches_only=False)
    assert near.distance <= MATCH_THRESHOLD and near.order_unverified and not near.is_match


def test_the_input_image_is_stored_and_a_match_of_it_is_told_from_the_motion(shot):
    still = shot[40]
    zoom = np.stack(
        [cv2.resize(still[i : HEIGHT - i, 2 * i : WIDTH - 2 * i], (WIDTH, HEIGHT)) for i in range(0, 50, 2)]
    )
    generated = compute_fingerprint(zoom, fps=25, input_image=still)
    restored = Fingerprint.from_bytes(generated.to_bytes())
    assert restored.input_hash == generated.input_hash and restored.input_strong == generated.input_strong
    registry = FingerprintIndex()
    registry.add("i2v", restored)
    # the real footage the still was taken from matches the input, not the generated motion
    [source] = registry.search(compute_fingerprint(_reencode(shot[28:53], 23, fps=25), fps=25))
    assert source.generation_key == "i2v" and source.matches_input_image
    # a copy of the generated clip matches its motion
    [copy] = registry.search(compute_fingerprint(_reencode(zoom, 23, fps=25), fps=25))
    assert copy.generation_key == "i2v" and not copy.matches_input_image and copy.distance <= MATCH_THRESHOLD


def test_format_1_fingerprints_are_still_read(clips):
    fingerprint = compute_fingerprint(clips["coffee"], fps=8)
    version_1 = bytearray(fingerprint.to_bytes())
    version_1[3] = 1
    restored = Fingerprint.from_bytes(bytes(version_1))
    assert restored.input_hash is None and np.array_equal(restored.hashes, fingerprint.hashes)


# -- geometry of a repost (issue 13): the verifier's query fingerprint ------------------------------


def _padded(frames: np.ndarray) -> np.ndarray:
    """Padded to a square with black bars, the clip centred."""
    side = frames.shape[2]
    canvas = np.zeros((len(frames), side, side, 3), np.uint8)
    top = (side - frames.shape[1]) // 2
    canvas[:, top : top + frames.shape[1]] = frames
    return canvas


def _inside(frames: np.ndarray, other: np.ndarray, seconds: float) -> np.ndarray:
    total = round(seconds * FPS)
    filler = np.concatenate([other] * (-(-total // len(other))))[: total - len(frames)]
    cut = len(filler) // 2
    return np.concatenate([filler[:cut], frames, filler[cut:]])


QUERY_REPOSTS = {
    "padded to a square": lambda f, other: _reencode(_padded(f), 23),
    "vertical flip": lambda f, other: _reencode(np.ascontiguousarray(f[:, ::-1]), 23),
    "half turn": lambda f, other: _reencode(np.ascontiguousarray(f[:, ::-1, ::-1]), 23),
    "3 s inside 60 s of other footage": lambda f, other: _reencode(_inside(f, other, 60.0), 23),
}


@pytest.fixture(scope="module")
def never_registered() -> tuple[np.ndarray, np.ndarray]:
    """Two clips that are in no registry: one to repost, one as the other footage around it."""
    return _pan_zoom(_rgb(skimage.data.coins()), 11), _pan_zoom(_rgb(skimage.data.moon()), 12)


@pytest.mark.parametrize("repost", list(QUERY_REPOSTS))
def test_query_fingerprint_finds_the_clip_after_a_repost(clips, index, never_registered, repost):
    from provenance.fingerprint import query_fingerprint

    unrelated, other = never_registered
    frames = QUERY_REPOSTS[repost](clips["astronaut"], other)
    matches = index.search(query_fingerprint(frames, fps=FPS))
    assert matches and matches[0].generation_key == "astronaut", (repost, matches)
    if repost.startswith("3 s inside"):
        start, end = matches[0].query_range_s
        middle = (60.0 - FRAMES / FPS) / 2
        assert abs(start - middle) <= 0.5 and abs(end - (middle + (FRAMES - 1) / FPS)) <= 0.5
    # the same repost of a clip that was never registered claims nothing
    assert not index.search(query_fingerprint(QUERY_REPOSTS[repost](unrelated, other), fps=FPS))


def test_query_fingerprint_names_the_geometry_that_matched(clips, index):
    from provenance.fingerprint import query_fingerprint

    flipped = index.search(query_fingerprint(np.ascontiguousarray(clips["coffee"][:, ::-1]), fps=FPS))
    padded = index.search(query_fingerprint(_padded(clips["coffee"]), fps=FPS))
    assert flipped[0].variant == "upside-down"
    assert padded[0].variant.startswith("content-region")
