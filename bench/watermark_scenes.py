"""Synthetic but realistic moving content for the watermark benchmarks.

A virtual camera over eight photographs is too kind a test (every frame is the same texture,
shifted). These scenes add what real footage has: subjects that move against the
background and against each other, faces, cartoons with flat fills and hard outlines, dark
and nearly flat scenes, and text. Every scene is a pure function of (kind, seed), so a
benchmark row is reproducible.

    scene("subjects", seed=3, frames=16, size=(1024, 576))
"""

from __future__ import annotations

import cv2
import numpy as np

from bench.transforms import photograph

BACKGROUNDS = (
    "astronaut",
    "chelsea",
    "coffee",
    "rocket",
    "hubble_deep_field",
    "immunohistochemistry",
    "retina",
    "motorcycle",
)
SPRITES = ("astronaut", "chelsea", "coffee", "rocket", "motorcycle")
KINDS = ("subjects", "faces", "cartoon", "dark", "flat", "text")


def _camera(image: np.ndarray, rng: np.random.Generator, size: tuple[int, int], frames: int) -> np.ndarray:
    width, height = size
    h, w = image.shape[:2]
    full = min(w, h * width / height)
    view0, view1 = full * rng.uniform(0.55, 0.95), full * rng.uniform(0.55, 0.95)
    start, end = rng.uniform(0.1, 0.9, 2), rng.uniform(0.1, 0.9, 2)
    out = []
    for index in range(frames):
        t = index / max(frames - 1, 1)
        view = view0 + (view1 - view0) * t
        cx = view / 2 + (w - view) * (start[0] + (end[0] - start[0]) * t)
        cy = view * height / width / 2 + (h - view * height / width) * (start[1] + (end[1] - start[1]) * t)
        scale = width / view
        matrix = np.float32([[scale, 0, width / 2 - scale * cx], [0, scale, height / 2 - scale * cy]])
        out.append(
            cv2.warpAffine(image, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        )
    return np.stack(out)


def _paste(canvas: np.ndarray, sprite: np.ndarray, mask: np.ndarray, x: float, y: float) -> None:
    """Alpha-blend `sprite` (with soft `mask` in 0..1) centred at (x, y), clipped to the canvas."""
    h, w = sprite.shape[:2]
    top, left = int(round(y - h / 2)), int(round(x - w / 2))
    t0, l0 = max(top, 0), max(left, 0)
    t1, l1 = min(top + h, canvas.shape[0]), min(left + w, canvas.shape[1])
    if t1 <= t0 or l1 <= l0:
        return
    part = sprite[t0 - top : t1 - top, l0 - left : l1 - left].astype(np.float32)
    alpha = mask[t0 - top : t1 - top, l0 - left : l1 - left, None]
    region = canvas[t0:t1, l0:l1].astype(np.float32)
    canvas[t0:t1, l0:l1] = np.clip(region * (1 - alpha) + part * alpha, 0, 255).astype(np.uint8)


def _ellipse_mask(h: int, w: int) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    inside = ((x - w / 2) / (w / 2)) ** 2 + ((y - h / 2) / (h / 2)) ** 2
    return np.clip((1.0 - inside) * 6.0, 0.0, 1.0)


def _trajectory(rng: np.random.Generator, size: tuple[int, int], frames: int):
    width, height = size
    p0 = rng.uniform(0.1, 0.9, 2) * (width, height)
    velocity = rng.normal(0, 0.02, 2) * (width, height)
    wobble = rng.uniform(0, 2 * np.pi)
    for index in range(frames):
        yield p0 + velocity * index + 0.02 * width * np.array([np.sin(0.4 * index + wobble), np.cos(0.3 * index)])


def _subjects(rng: np.random.Generator, size: tuple[int, int], frames: int, faces: bool = False) -> np.ndarray:
    _width, height = size
    background = photograph(BACKGROUNDS[rng.integers(len(BACKGROUNDS))])
    clip = _camera(background, rng, size, frames)
    count = int(rng.integers(2, 5))
    actors = []
    for _ in range(count):
        if faces:
            sprite = _face(rng, int(height * rng.uniform(0.25, 0.5)))
        else:
            source = photograph(SPRITES[rng.integers(len(SPRITES))])
            h = int(height * rng.uniform(0.2, 0.45))
            w = int(h * rng.uniform(0.6, 1.4))
            y0, x0 = rng.integers(0, max(source.shape[0] - h, 1)), rng.integers(0, max(source.shape[1] - w, 1))
            sprite = cv2.resize(source[y0 : y0 + max(h, 8), x0 : x0 + max(w, 8)], (w, h))
        actors.append((sprite, _ellipse_mask(*sprite.shape[:2]), list(_trajectory(rng, size, frames))))
    for index in range(frames):
        for sprite, mask, path in actors:
            _paste(clip[index], sprite, mask, *path[index])
    return clip


def _face(rng: np.random.Generator, size: int) -> np.ndarray:
    """A drawn face: skin-tone oval with shading, eyes, brows, nose and mouth."""
    w, h = int(size * 0.78), size
    skin = np.float32(rng.choice([[224, 180, 150], [190, 140, 110], [141, 95, 70], [90, 60, 45]])) * rng.uniform(
        0.9, 1.1
    )
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    shade = 1.0 - 0.25 * ((x - w * 0.4) / w) ** 2 - 0.2 * ((y - h * 0.4) / h) ** 2
    face = np.clip(skin * shade[..., None], 0, 255).astype(np.uint8)
    hair = tuple(float(v) for v in rng.uniform(10, 90, 3))
    cv2.ellipse(face, (w // 2, int(h * 0.12)), (w // 2, int(h * 0.16)), 0, 180, 360, hair, -1)
    for side in (-1, 1):
        cx = int(w / 2 + side * w * 0.2)
        cv2.ellipse(face, (cx, int(h * 0.42)), (int(w * 0.09), int(h * 0.04)), 0, 0, 360, (245, 245, 245), -1)
        cv2.circle(face, (cx, int(h * 0.42)), int(h * 0.03), (40, 30, 20), -1)
        cv2.line(face, (cx - int(w * 0.1), int(h * 0.34)), (cx + int(w * 0.1), int(h * 0.33)), hair, max(size // 40, 1))
    cv2.line(face, (w // 2, int(h * 0.45)), (w // 2 - int(w * 0.05), int(h * 0.6)), (120, 80, 60), max(size // 60, 1))
    cv2.ellipse(
        face, (w // 2, int(h * 0.72)), (int(w * 0.16), int(h * 0.05)), 0, 0, 180, (150, 60, 60), max(size // 40, 1)
    )
    return cv2.GaussianBlur(face, (0, 0), 0.8)


def _cartoon(rng: np.random.Generator, size: tuple[int, int], frames: int) -> np.ndarray:
    """Flat fills, hard black outlines, a sky-and-ground background, shapes that bounce."""
    width, height = size
    sky, ground = rng.uniform(120, 250, 3), rng.uniform(40, 160, 3)
    horizon = int(height * rng.uniform(0.55, 0.75))
    shapes = [
        (
            rng.integers(3),
            tuple(float(v) for v in rng.uniform(0, 255, 3)),
            int(height * rng.uniform(0.06, 0.18)),
            list(_trajectory(rng, size, frames)),
        )
        for _ in range(int(rng.integers(3, 7)))
    ]
    out = []
    for index in range(frames):
        canvas = np.empty((height, width, 3), np.uint8)
        canvas[:horizon], canvas[horizon:] = sky.astype(np.uint8), ground.astype(np.uint8)
        hills = (horizon - 40 * np.sin(np.arange(width) / 90.0 + index * 0.05)).astype(int)
        for x in range(0, width, 4):
            canvas[hills[x] : horizon, x : x + 4] = (ground * 1.1).clip(0, 255).astype(np.uint8)
        for kind, colour, radius, path in shapes:
            cx, cy = (int(v) for v in path[index])
            if kind == 0:
                cv2.circle(canvas, (cx, cy), radius, colour, -1)
                cv2.circle(canvas, (cx, cy), radius, (0, 0, 0), max(radius // 8, 2), cv2.LINE_AA)
            elif kind == 1:
                cv2.rectangle(canvas, (cx - radius, cy - radius), (cx + radius, cy + radius), colour, -1)
                cv2.rectangle(
                    canvas, (cx - radius, cy - radius), (cx + radius, cy + radius), (0, 0, 0), max(radius // 8, 2)
                )
            else:
                points = np.int32([[cx, cy - radius], [cx + radius, cy + radius], [cx - radius, cy + radius]])
                cv2.fillPoly(canvas, [points], colour)
                cv2.polylines(canvas, [points], True, (0, 0, 0), max(radius // 8, 2), cv2.LINE_AA)
        out.append(canvas)
    return np.stack(out)


def _dark(rng: np.random.Generator, size: tuple[int, int], frames: int) -> np.ndarray:
    """A night scene: a photograph at a fifth of its brightness, crushed blacks, sensor noise."""
    clip = _camera(photograph(BACKGROUNDS[rng.integers(len(BACKGROUNDS))]), rng, size, frames).astype(np.float32)
    clip = 255.0 * (clip / 255.0) ** 1.8 * rng.uniform(0.15, 0.3)
    noise = rng.normal(0, 2.0, clip.shape)
    return np.clip(np.rint(clip + noise), 0, 255).astype(np.uint8)


def _flat(rng: np.random.Generator, size: tuple[int, int], frames: int) -> np.ndarray:
    """A nearly flat scene: a soft gradient (sky, a wall) with one small object crossing it."""
    width, height = size
    a, b = rng.uniform(60, 220, 3), rng.uniform(60, 220, 3)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    angle = rng.uniform(0, np.pi)
    out = []
    path = list(_trajectory(rng, size, frames))
    radius = int(height * 0.05)
    for index in range(frames):
        ramp = np.clip((x * np.cos(angle) + y * np.sin(angle)) / (width + height) + 0.003 * index, 0, 1)
        frame = np.clip(np.rint(a + (b - a) * ramp[..., None]), 0, 255).astype(np.uint8)
        cv2.circle(frame, tuple(int(v) for v in path[index]), radius, (30, 30, 30), -1, cv2.LINE_AA)
        out.append(frame)
    return np.stack(out)


def _text(rng: np.random.Generator, size: tuple[int, int], frames: int) -> np.ndarray:
    """Scrolling lines of text over a gradient (a lyric video, a news crawl, a slide)."""
    width, height = size
    words = [
        "originframe",
        "provenance",
        "watermark",
        "video",
        "clip",
        "news",
        "breaking",
        "update",
        "weather",
        "sport",
        "music",
        "the",
        "and",
        "of",
    ]
    lines = [" ".join(rng.choice(words, 6)) for _ in range(24)]
    ink = tuple(float(v) for v in rng.uniform(0, 80, 3)) if rng.random() < 0.5 else (250.0, 250.0, 250.0)
    paper = rng.uniform(80, 230, 3)
    scale = height / 500 * rng.uniform(0.8, 1.4)
    spacing = int(50 * scale)
    out = []
    for index in range(frames):
        canvas = np.empty((height, width, 3), np.uint8)
        canvas[:] = (paper * (0.9 + 0.1 * np.linspace(0, 1, height)[:, None, None])).clip(0, 255).astype(np.uint8)
        offset = int(index * spacing * 0.15)
        for row, line in enumerate(lines):
            y = spacing * (row + 1) - offset
            if -spacing < y < height + spacing:
                cv2.putText(
                    canvas,
                    line,
                    (int(width * 0.05), y),
                    cv2.FONT_HERSHEY_SIMPLEX,
                    scale,
                    ink,
                    max(int(2 * scale), 1),
                    cv2.LINE_AA,
                )
        out.append(canvas)
    return np.stack(out)


def scene(kind: str, seed: int, frames: int, size: tuple[int, int]) -> np.ndarray:
    """(frames, height, width, 3) uint8 RGB of one scene kind, deterministic in `seed`."""
    rng = np.random.default_rng([KINDS.index(kind), seed])
    if kind == "subjects":
        return _subjects(rng, size, frames)
    if kind == "faces":
        return _subjects(rng, size, frames, faces=True)
    return {"cartoon": _cartoon, "dark": _dark, "flat": _flat, "text": _text}[kind](rng, size, frames)


def scene_names(count: int) -> list[tuple[str, int]]:
    """`count` distinct (kind, seed) sources, kinds interleaved."""
    return [(KINDS[i % len(KINDS)], i // len(KINDS)) for i in range(count)]
