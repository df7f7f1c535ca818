"""The compatibility detector for Stability's fixed dwtDct mark (0xB3EC907BB19E)."""

import numpy as np
import pytest

from provenance.watermark import detect_reference_watermark

STABILITY_BITS = [int(b) for b in format(0xB3EC907BB19E, "048b")]


def _max_dct():
    """invisible-watermark's dwtDct implementation (EmbedMaxDct), loaded from its own file:
    the package's __init__ imports torch (seconds) for a method we do not use."""
    import importlib.util

    spec = importlib.util.find_spec("imwatermark")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("invisible-watermark is not installed")
    path = f"{spec.submodule_search_locations[0]}/maxDct.py"
    module_spec = importlib.util.spec_from_file_location("_imwatermark_max_dct", path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module.EmbedMaxDct


class _Encoder:
    """The library's WatermarkEncoder for method 'dwtDct', without the torch import."""

    def __init__(self, bits):
        self.bits = list(bits)

    def encode(self, bgr, method):
        assert method == "dwtDct"
        return _max_dct()(self.bits, wmLen=len(self.bits)).encode(bgr)


@pytest.fixture(scope="module")
def encoder():
    return _Encoder(STABILITY_BITS)


@pytest.fixture(scope="module")
def photo():
    import cv2
    import skimage.data

    # the library's smallest size: its encoder loops over blocks in Python
    return cv2.resize(skimage.data.astronaut(), (256, 256), interpolation=cv2.INTER_AREA)


def stability_mark(encoder, rgb):
    # Stability's scripts hand the library BGR frames, as it expects
    return encoder.encode(np.ascontiguousarray(rgb[:, :, ::-1]), "dwtDct")[:, :, ::-1]


def test_marked_still_is_recognised(encoder, photo):
    result = detect_reference_watermark(stability_mark(encoder, photo))
    assert result.detected and result.p_value <= 1e-6
    assert result.bit_accuracy > 0.95 and result.channel_order == "bgr"
    assert result.label == "Stable Diffusion reference watermark"


def test_diffusers_channel_order_is_recognised(encoder, photo):
    # diffusers' SDXL watermarker hands the library RGB frames as if they were BGR
    result = detect_reference_watermark(encoder.encode(photo.copy(), "dwtDct"))
    assert result.detected


def test_clean_images_and_our_mark_are_not_recognised(photo, photo_clip, key):
    from provenance.watermark import embed_watermark

    for frames in (photo, photo_clip, embed_watermark(photo_clip, 1, key), np.full((300, 300, 3), 128, np.uint8)):
        result = detect_reference_watermark(frames)
        assert not result.detected and result.p_value > 1e-6


def test_marked_clip_is_recognised_per_frame(encoder, photo_clip):
    clip = np.stack([stability_mark(encoder, frame) for frame in photo_clip[:3, :256, :384]])
    result = detect_reference_watermark(clip)
    assert result.detected and result.frames_analysed == 3 and len(result.frame_scores) == 3
    assert min(result.frame_scores) > 0.9


def test_another_message_is_not_the_reference(photo):
    other = _Encoder([1 - b for b in STABILITY_BITS])
    assert not detect_reference_watermark(other.encode(photo[:, :, ::-1].copy(), "dwtDct")[:, :, ::-1]).detected


def test_vectorised_reading_matches_the_library(encoder, photo):
    from provenance.watermark.reference import block_votes

    rng = np.random.default_rng(0)
    marked_bgr = encoder.encode(np.ascontiguousarray(photo[:, :, ::-1]), "dwtDct")
    noisy = np.clip(marked_bgr.astype(int) + rng.integers(-4, 5, marked_bgr.shape), 0, 255).astype(np.uint8)
    for bgr in (marked_bgr, noisy, np.ascontiguousarray(photo[:, :, ::-1])):
        library = np.asarray(_max_dct()([], wmLen=48).decode(bgr), dtype=bool)
        ours = block_votes(np.ascontiguousarray(bgr[:, :, ::-1]), "bgr") * 255 > 127
        assert np.array_equal(library, ours)
