"""A face set built from scikit-image's photographs, and the hold rate of a face detector on it.

Faces: the astronaut portrait (and its mirror image, the three-quarter view the other way),
the cameraman (a face in near-profile under a hat), and LFW face crops, rotated up to ±45°,
scaled to face sizes from 40 px up, and placed in scenes up to 3840x2160. Non-faces: every
bundled scikit-image picture without a person (coffee, cat, rocket, coins, moon, horse,
textures, text, microscopy, the Hubble deep field...), LFW's non-face crops in scenes, random
crops of those pictures and noise. Each LFW crop appears three ways: tilted in a 720p scene,
small (40-64 px) in a 1080p scene, and in a heavily compressed (JPEG quality 15-40) 512x512
image. Two splits, "dev" and "heldout", differ in seed, LFW crops, tilts and face sizes: tune
on one, report both. Everything is generated from a seed, so a split is the same on every
run; nothing is downloaded.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["SPLITS", "FaceCase", "FaceEvalRow", "FaceSplit", "evaluate_faces", "face_cases"]


@dataclass(frozen=True)
class FaceCase:
    name: str
    group: str  # upright | tilted | mirrored | profile | small | lfw <variant> | no_face [lfw <variant>]
    image: np.ndarray
    has_face: bool


def _rgb(img: np.ndarray) -> np.ndarray:
    if img.ndim == 2:
        img = np.stack([img] * 3, axis=-1)
    if img.shape[2] == 4:
        img = img[..., :3]
    if img.dtype != np.uint8:
        img = (np.clip(img, 0, 1) * 255).astype(np.uint8) if img.max() <= 1.0 else img.astype(np.uint8)
    return np.ascontiguousarray(img)


def _resize(img: np.ndarray, w: int, h: int) -> np.ndarray:
    import cv2

    return cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA if w < img.shape[1] else cv2.INTER_LINEAR)


def _rotate(img: np.ndarray, angle: float) -> np.ndarray:
    import cv2

    h, w = img.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    return cv2.warpAffine(img, m, (w, h), borderMode=cv2.BORDER_REFLECT)


def _scenes() -> list[np.ndarray]:
    from skimage import data

    return [_rgb(getattr(data, n)()) for n in ("coffee", "rocket", "chelsea", "grass", "brick", "hubble_deep_field")]


def _canvas(background: np.ndarray, w: int, h: int) -> np.ndarray:
    return _resize(background, w, h)


def _place(canvas: np.ndarray, patch: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    out = canvas.copy()
    h, w = patch.shape[:2]
    y = int(rng.integers(0, max(1, out.shape[0] - h)))
    x = int(rng.integers(0, max(1, out.shape[1] - w)))
    out[y : y + h, x : x + w] = patch[: out.shape[0] - y, : out.shape[1] - x]
    return out


@dataclass(frozen=True)
class FaceSplit:
    """One half of the set: its own seed, LFW crops, tilts and face sizes, so a detector tuned
    on one half can be checked on the other."""

    seed: int
    lfw: range  # indices of LFW face crops (non-face crops: the same + 100)
    angles: tuple[int, ...]
    face_pixels: tuple[int, ...]


SPLITS = {
    "dev": FaceSplit(0, range(0, 50), (-45, -30, -15, 15, 30, 45), (40, 60, 90)),
    "heldout": FaceSplit(1, range(50, 100), (-40, -25, -10, 10, 25, 40), (45, 70, 120)),
}


def _jpeg(img: np.ndarray, quality: int) -> np.ndarray:
    import cv2

    _ok, buf = cv2.imencode(".jpg", img[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])
    decoded = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    assert decoded is not None  # a JPEG OpenCV itself just encoded
    return np.ascontiguousarray(decoded[..., ::-1])


def _lfw_variants(
    crop: np.ndarray, scenes: list[np.ndarray], rng: np.random.Generator
) -> Iterator[tuple[str, np.ndarray]]:
    """One LFW crop three ways: tilted in a 720p scene, small in a 1080p scene, tilted in a
    heavily compressed 512x512 image."""

    def tilted_patch(low: int, high: int) -> np.ndarray:
        side = int(rng.integers(low, high + 1))
        return _rotate(_resize(_rgb(crop), side, side), float(rng.uniform(-45, 45)))

    def scene(w: int, h: int) -> np.ndarray:
        return _canvas(scenes[int(rng.integers(len(scenes)))], w, h)

    yield "720p", _place(scene(1280, 720), tilted_patch(60, 140), rng)
    yield "1080p small", _place(scene(1920, 1080), tilted_patch(40, 64), rng)
    yield "512 jpeg", _jpeg(_place(scene(512, 512), tilted_patch(40, 110), rng), int(rng.integers(15, 41)))


def face_cases(split: str = "dev", lfw: int | None = None) -> Iterator[FaceCase]:
    """One split of the set ("dev" or "heldout"); `lfw` limits how many LFW crops (faces and
    non-faces each) are used."""
    from skimage import data

    spec = SPLITS[split]
    rng = np.random.default_rng(spec.seed)
    scenes = _scenes()
    astronaut = _rgb(data.astronaut())
    head = astronaut[0:260, 120:330]  # head and shoulders, ~110 px face
    camera = _rgb(data.camera())

    yield FaceCase("astronaut", "upright", astronaut, True)
    yield FaceCase("astronaut mirrored", "mirrored", astronaut[:, ::-1].copy(), True)
    yield FaceCase("cameraman", "profile", camera, True)
    for angle in spec.angles:
        yield FaceCase(f"astronaut tilted {angle}", "tilted", _rotate(astronaut, angle), True)
        yield FaceCase(f"cameraman tilted {angle}", "tilted", _rotate(camera, angle), True)
    # Small faces in large frames: the head scaled so the face is ~N px, in 1080p and 4K scenes.
    for face_px in spec.face_pixels:
        scale = face_px / 110
        patch = _resize(head, max(8, int(head.shape[1] * scale)), max(8, int(head.shape[0] * scale)))
        for w, h in ((1920, 1080), (3840, 2160)):
            canvas = _canvas(scenes[int(rng.integers(len(scenes)))], w, h)
            yield FaceCase(f"astronaut face {face_px}px in {w}x{h}", "small", _place(canvas, patch, rng), True)
    # A 512 px portrait inside a 1920x1080 frame (the example).
    canvas = _canvas(scenes[0], 1920, 1080)
    yield FaceCase("portrait 512 in 1920x1080", "small", _place(canvas, astronaut, rng), True)
    tilt = spec.angles[-2]
    yield FaceCase(
        f"portrait 512 tilted {tilt} in 1920x1080", "small", _place(canvas, _rotate(astronaut, tilt), rng), True
    )

    crops = data.lfw_subset()  # 100 faces then 100 non-faces, 25x25 grey
    indices = list(spec.lfw)[: lfw if lfw is not None else None]
    for i in indices:
        for is_face, crop in ((True, crops[i]), (False, crops[100 + i])):
            for variant, image in _lfw_variants(crop, scenes, rng):
                group = ("lfw " if is_face else "no_face lfw ") + variant
                yield FaceCase(f"lfw {'face' if is_face else 'non-face'} {i} {variant}", group, image, is_face)

    for name in (
        "coffee",
        "chelsea",
        "rocket",
        "coins",
        "moon",
        "horse",
        "brick",
        "grass",
        "gravel",
        "page",
        "text",
        "retina",
        "hubble_deep_field",
        "immunohistochemistry",
        "colorwheel",
        "logo",
        "cell",
        "clock",
        "checkerboard",
        "shepp_logan_phantom",
        "binary_blobs",
    ):
        img = _rgb(getattr(data, name)())
        yield FaceCase(name, "no_face", img, False)
        yield FaceCase(f"{name} 1920x1080", "no_face", _resize(img, 1920, 1080), False)
        h, w = img.shape[:2]
        ch, cw = max(32, h // 2), max(32, w // 2)
        y, x = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
        yield FaceCase(f"{name} crop", "no_face", _resize(img[y : y + ch, x : x + cw], 512, 512), False)
    for i in range(5):
        yield FaceCase(f"noise {i}", "no_face", rng.integers(0, 256, (512, 512, 3), dtype=np.uint8), False)


@dataclass(frozen=True)
class FaceEvalRow:
    name: str
    group: str
    has_face: bool
    held: bool
    faces: int
    ms: float


def evaluate_faces(detector: Any, cases: Iterator[FaceCase] | None = None, min_score: float = 0.8) -> list[FaceEvalRow]:
    """Run the detector on every case; `held` = a face scoring at least `min_score` (the policy trigger)."""
    import time

    rows = []
    for case in cases if cases is not None else face_cases():
        started = time.perf_counter()
        faces = detector.detect(case.image) or []
        ms = (time.perf_counter() - started) * 1000
        held = any(f.score >= min_score for f in faces)
        rows.append(FaceEvalRow(case.name, case.group, case.has_face, held, len(faces), round(ms, 1)))
    return rows
