"""Embedding and detection on clips and stills: round trip, keys, the null, the result shape."""

import io
import subprocess
import sys

import msgspec
import numpy as np
import pytest
from PIL import Image

from provenance.watermark import (
    ALGORITHM,
    Keyring,
    WatermarkDetection,
    WatermarkKey,
    detect_watermark,
    embed_watermark,
)

IDENTIFIER = 0x0123_4567_89AB_CDEF


@pytest.fixture(scope="module")
def marked(photo_clip, key):
    return embed_watermark(photo_clip, IDENTIFIER, key)


def _psnr(a, b):
    return 10 * np.log10(255.0**2 / np.mean((a.astype(float) - b.astype(float)) ** 2))


def test_round_trip_recovers_identifier_and_key(marked, photo_clip, keyring):
    assert marked.shape == photo_clip.shape and marked.dtype == np.uint8
    result = detect_watermark(marked, keyring)
    assert result.detected
    assert result.identifier == IDENTIFIER and result.key_id == 1
    assert result.p_value <= result.threshold_p_value == 1e-6
    assert result.false_positive_bound <= 1e-6
    assert result.algorithm == ALGORITHM
    assert result.frames_analysed == len(result.frame_scores) == len(photo_clip)
    assert min(result.frame_scores) > 5  # every frame alone shows the mark
    assert result.scale == 1.0 and result.mirrored is False


def test_mark_is_invisible_by_the_numbers(marked, photo_clip):
    from skimage.metrics import structural_similarity

    assert min(_psnr(a, b) for a, b in zip(marked, photo_clip, strict=True)) >= 40.0
    assert (
        min(
            structural_similarity(a, b, channel_axis=-1, data_range=255)
            for a, b in zip(marked, photo_clip, strict=True)
        )
        >= 0.98
    )


def test_result_is_typed_json(marked, keyring):
    result = detect_watermark(marked, keyring)
    decoded = msgspec.json.decode(msgspec.json.encode(result), type=WatermarkDetection)
    assert decoded == result


@pytest.mark.parametrize("identifier", [0, 2**64 - 1, 123456789])
def test_identifiers_survive_a_still_image(identifier, key, keyring):
    import skimage.data

    image = skimage.data.chelsea()[:288, :384]
    marked = embed_watermark(image, identifier, key)
    assert marked.shape == image.shape
    result = detect_watermark(marked, keyring)
    assert result.detected and result.identifier == identifier
    assert result.frames_analysed == 1


def test_still_survives_jpeg(key, keyring):
    import skimage.data

    marked = embed_watermark(skimage.data.astronaut(), 77, key)
    buffer = io.BytesIO()
    Image.fromarray(marked).save(buffer, format="JPEG", quality=85)
    decoded = np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"))
    result = detect_watermark(decoded, keyring)
    assert result.detected and result.identifier == 77


def test_mark_under_another_key_is_not_ours(photo_clip, keyring):
    stranger = WatermarkKey(1, bytes(range(100, 132)))  # same id, different secret
    result = detect_watermark(embed_watermark(photo_clip, IDENTIFIER, stranger), keyring)
    assert not result.detected
    assert result.identifier is None and result.key_id is None and result.p_value == 1.0


def test_rotated_keyring_still_detects_old_clips(photo_clip, tmp_path):
    ring = Keyring.load_or_create(tmp_path)
    old = embed_watermark(photo_clip[:3], 5, ring.current)
    rotated = Keyring.rotate(tmp_path)
    new = embed_watermark(photo_clip[:3], 6, rotated.current)
    old_result, new_result = detect_watermark(old, rotated), detect_watermark(new, rotated)
    assert (old_result.detected, old_result.key_id, old_result.identifier) == (True, 1, 5)
    assert (new_result.detected, new_result.key_id, new_result.identifier) == (True, 2, 6)
    # a keyring that lost the old key no longer vouches for old clips
    assert not detect_watermark(old, Keyring([rotated.current])).detected


def _flat(shape):
    y = np.linspace(0, 1, shape[1])[None, :, None, None]
    return np.broadcast_to(np.rint(60 + 120 * y * np.array([0.4, 0.7, 1.0])), shape).astype(np.uint8).copy()


def _noise(shape):
    return np.random.default_rng(3).integers(0, 256, shape, dtype=np.uint8)


@pytest.mark.parametrize("content", ["photo", "other photo", "flat", "noise"])
def test_unmarked_content_is_never_detected(content, photo_clip, other_photo_clip, keyring):
    clip = {
        "photo": photo_clip,
        "other photo": other_photo_clip,
        "flat": _flat((4, 240, 320, 3)),
        "noise": _noise((4, 240, 320, 3)),
    }[content]
    for frames in (clip, clip[0]):
        result = detect_watermark(frames, keyring)
        assert not result.detected and result.p_value == 1.0 and result.identifier is None


def test_flat_content_is_marked_invisibly_and_detectably(key, keyring):
    clip = _flat((4, 288, 512, 3))
    marked = embed_watermark(clip, 9, key)
    assert min(_psnr(a, b) for a, b in zip(marked, clip, strict=True)) >= 40.0
    result = detect_watermark(marked, keyring)
    assert result.detected and result.identifier == 9


def test_long_clips_are_sampled_and_say_so(key, keyring):
    clip = np.repeat(_flat((1, 128, 160, 3)), 150, axis=0)
    clip = clip + np.random.default_rng(0).integers(0, 3, clip.shape, dtype=np.uint8)
    marked = embed_watermark(clip, 11, key)
    result = detect_watermark(marked, keyring)
    assert result.detected and result.identifier == 11
    assert result.frames_total == 150 and result.frames_analysed == len(result.frame_indices) <= 64
    assert result.frame_indices[0] == 0 and result.frame_indices[-1] == 149


def test_bad_input_is_refused(key, keyring):
    with pytest.raises(ValueError):
        embed_watermark(np.zeros((4, 64, 64), np.uint8), 1, key)
    with pytest.raises(ValueError):
        embed_watermark(np.zeros((64, 64, 3), np.float32), 1, key)
    with pytest.raises(ValueError):
        detect_watermark(np.zeros((8, 8, 3), np.uint8), keyring)
    with pytest.raises(ValueError):
        detect_watermark(np.zeros((0, 64, 64, 3), np.uint8), keyring)


def test_importing_the_detector_loads_no_heavy_libraries():
    code = "import sys, provenance.watermark; print(any(m in sys.modules for m in ('torch', 'imwatermark')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
