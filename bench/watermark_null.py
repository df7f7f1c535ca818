"""Empirical null for both watermark detectors: unmarked content must never be detected.

Runs the clip detector on >= 1,000 small unmarked clips and the still detector on >= 10,000
single frames: natural photographs (random windows, pans, zooms), flat content (uniform
colours, gradients), synthetic noise (white, smooth, salt-and-pepper), each passed through
a random transformation from the robustness benchmark, plus clips carrying *another*
key's Originframe mark (key mismatch) and clips carrying invisible-watermark marks with
other messages. Prints how many were detected (expected: none), the smallest p-value and
the strongest evidence observed, against the operating thresholds.

    python bench/watermark_null.py            # 1,200 clips of up to 10 frames, ~11,000 single frames
    python bench/watermark_null.py --quick    # 120 clips, ~1,100 single frames

(Frame-rate halving and trimming shorten some clips, so there are somewhat fewer frames than
clips times 10.)
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.watermark import TRANSFORMS, photograph
from provenance.watermark import Keyring, WatermarkKey, detect_watermark, embed_watermark
from provenance.watermark.detect import THRESHOLD_P_VALUE
from provenance.watermark.reference import REFERENCE_THRESHOLD_P_VALUE, detect_reference_watermark

GRAY_PHOTOS = ("camera", "grass", "gravel", "brick", "moon", "coins", "page", "text", "checkerboard")
COLOUR_PHOTOS = (
    "astronaut",
    "chelsea",
    "coffee",
    "rocket",
    "hubble_deep_field",
    "immunohistochemistry",
    "retina",
    "motorcycle",
    "colorwheel",
)
SIZES = ((320, 180), (320, 240), (256, 256), (480, 270))
# transformations cheap enough at these sizes, and meaningful for them
NULL_TRANSFORMS = [name for name in TRANSFORMS if not name.startswith(("scale", "360p"))]
_SPAWN = multiprocessing.get_context("spawn")  # see bench/watermark.py
KEYRING = Keyring([WatermarkKey(7, bytes(range(32))), WatermarkKey(3, bytes(range(1, 33)))], current_id=7)


def _photos() -> list[np.ndarray]:
    out = []
    for name in COLOUR_PHOTOS + GRAY_PHOTOS:
        image = photograph(name)
        if image.ndim == 2:
            image = cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
        out.append(image[..., :3])
    return out


def _camera(image: np.ndarray, rng: np.random.Generator, size: tuple[int, int], frames: int) -> np.ndarray:
    width, height = size
    h, w = image.shape[:2]
    view0 = rng.uniform(0.3, 1.0) * min(w, h * width / height)
    view1 = view0 * rng.uniform(0.7, 1.3)
    start = rng.uniform(0, 1, 2)
    end = np.clip(start + rng.normal(0, 0.2, 2), 0, 1)
    out = []
    for index in range(frames):
        t = index / max(frames - 1, 1)
        view = min(view0 + (view1 - view0) * t, min(w, h * width / height))
        cx = view / 2 + (w - view) * (start[0] + (end[0] - start[0]) * t)
        cy = view * height / width / 2 + (h - view * height / width) * (start[1] + (end[1] - start[1]) * t)
        scale = width / view
        matrix = np.float32([[scale, 0, width / 2 - scale * cx], [0, scale, height / 2 - scale * cy]])
        out.append(
            cv2.warpAffine(image, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        )
    return np.stack(out)


def _flat(rng: np.random.Generator, size: tuple[int, int], frames: int) -> np.ndarray:
    width, height = size
    a, b = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
    if rng.random() < 0.3:
        b = a
    angle = rng.uniform(0, 2 * np.pi)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    out = []
    for index in range(frames):
        ramp = ((x * np.cos(angle) + y * np.sin(angle)) / max(width, height) + 0.01 * index) % 1.0
        out.append(np.clip(np.rint(a + (b - a) * ramp[..., None]), 0, 255).astype(np.uint8))
    return np.stack(out)


def _noise(rng: np.random.Generator, size: tuple[int, int], frames: int) -> np.ndarray:
    width, height = size
    kind = rng.integers(3)
    if kind == 0:  # white
        clip = rng.normal(128, rng.uniform(2, 60), (frames, height, width, 3))
    elif kind == 1:  # smooth, like clouds
        base = rng.normal(0, 1, (frames, height // 8 + 2, width // 8 + 2, 3)).astype(np.float32)
        clip = np.stack([cv2.resize(f, (width, height), interpolation=cv2.INTER_CUBIC) for f in base]) * 40 + 128
    else:  # salt and pepper over grey
        clip = np.full((frames, height, width, 3), rng.uniform(50, 200))
        mask = rng.random((frames, height, width)) < 0.05
        clip[mask] = rng.choice([0, 255], size=(int(mask.sum()), 1))
    return np.clip(np.rint(clip), 0, 255).astype(np.uint8)


def _foreign_mark(clip: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    if rng.random() < 0.5:
        key = WatermarkKey(int(rng.integers(100, 10**6)), rng.bytes(32))
        return embed_watermark(clip, int(rng.integers(0, 2**63)), key)
    from imwatermark import WatermarkEncoder

    encoder = WatermarkEncoder()
    encoder.set_watermark("bits", rng.integers(0, 2, 48).tolist())
    if clip.shape[1] * clip.shape[2] < 256 * 256:
        return clip
    return np.stack([encoder.encode(np.ascontiguousarray(f[:, :, ::-1]), "dwtDct")[:, :, ::-1] for f in clip])


def make_clip(seed: int, frames: int, photos: list[np.ndarray]) -> tuple[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    size = SIZES[rng.integers(len(SIZES))]
    roll = rng.random()
    if roll < 0.55:
        kind, clip = "photo", _camera(photos[rng.integers(len(photos))], rng, size, frames)
    elif roll < 0.75:
        kind, clip = "flat", _flat(rng, size, frames)
    else:
        kind, clip = "noise", _noise(rng, size, frames)
    if rng.random() < 0.2:
        kind += "+foreign mark"
        clip = _foreign_mark(clip, rng)
    transform = NULL_TRANSFORMS[rng.integers(len(NULL_TRANSFORMS))]
    clip = TRANSFORMS[transform](clip, 8.0, seed)
    return f"{kind}/{transform}", clip


@dataclass
class Evidence:
    label: str
    ours_detected: bool
    ours_p: float
    ours_sync: float
    ours_hypotheses: int
    reference_detected: bool
    reference_p: float
    reference_matches: int


def _evidence(label: str, frames: np.ndarray) -> Evidence:
    ours = detect_watermark(frames, KEYRING)
    reference = detect_reference_watermark(frames)
    return Evidence(
        label,
        ours.detected,
        ours.p_value,
        ours.sync_score,
        ours.hypotheses_tried,
        reference.detected,
        reference.p_value,
        reference.matching_bits,
    )


def _run_chunk(args) -> tuple[list[Evidence], list[Evidence], int]:
    seeds, frames, with_stills = args
    cv2.setNumThreads(1)
    photos = _photos()
    clips, stills, frame_count = [], [], 0
    for seed in seeds:
        label, clip = make_clip(seed, frames, photos)
        frame_count += len(clip)
        clips.append(_evidence(label, clip))
        if with_stills:
            for frame in clip:
                stills.append(_evidence(label, frame))
    return clips, stills, frame_count


def summarise(name: str, rows: list[Evidence]) -> str:
    ours = [r for r in rows if r.ours_detected]
    reference = [r for r in rows if r.reference_detected]
    worst = min(rows, key=lambda r: r.ours_p)
    worst_reference = min(rows, key=lambda r: r.reference_p)
    strongest_sync = max(rows, key=lambda r: r.ours_sync)
    messages = sum(r.ours_hypotheses for r in rows)
    return "\n".join(
        [
            f"| {name}: Originframe | {len(rows)} | {len(ours)} | {worst.ours_p:.3g} | {THRESHOLD_P_VALUE:g} "
            f"| {messages} messages checked, {len(ours)} verified; max pilot z {strongest_sync.ours_sync:.2f} "
            f"({strongest_sync.label}); re-decoded (z >= 6) in {sum(r.ours_sync >= 6 for r in rows)} |",
            f"| {name}: reference (dwtDct 0xB3EC907BB19E) | {len(rows)} | {len(reference)} | {worst_reference.reference_p:.3g} "
            f"| {REFERENCE_THRESHOLD_P_VALUE:g} | max {max(r.reference_matches for r in rows)}/48 bits match ({worst_reference.label}) |",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--clips", type=int, default=None)
    parser.add_argument("--frames", type=int, default=10)
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--seed", type=int, default=20_000)
    parser.add_argument(
        "--no-stills", action="store_true", help="clips only (each frame alone as a still is 10x the work)"
    )
    args = parser.parse_args(argv)
    count = args.clips or (120 if args.quick else 1200)
    seeds = list(range(args.seed, args.seed + count))
    chunks = [(seeds[i : i + 20], args.frames, not args.no_stills) for i in range(0, count, 20)]
    started = time.time()
    clips: list[Evidence] = []
    stills: list[Evidence] = []
    frames = 0
    with ProcessPoolExecutor(args.workers, mp_context=_SPAWN) as pool:
        for _index, (chunk_clips, chunk_stills, chunk_frames) in enumerate(pool.map(_run_chunk, chunks)):
            clips += chunk_clips
            stills += chunk_stills
            frames += chunk_frames
            # running totals, so that a run stopped early still says what it saw
            detected = sum(r.ours_detected or r.reference_detected for r in clips + stills)
            print(
                f"  {len(clips)}/{count} clips, {len(stills)} stills: {detected} detected, "
                f"{sum(r.ours_hypotheses for r in clips + stills)} messages checked, "
                f"max pilot z {max(r.ours_sync for r in clips):.2f}, smallest p {min(r.ours_p for r in clips):.3g}",
                file=sys.stderr,
                flush=True,
            )
    print("| null set | tests | detected | smallest p-value | threshold | strongest evidence |")
    print("| --- | --- | --- | --- | --- | --- |")
    print(summarise("clips", clips))
    if stills:
        print(summarise("single frames", stills))
    kinds = {}
    for row in clips:
        kinds[row.label.split("/")[0]] = kinds.get(row.label.split("/")[0], 0) + 1
    print(
        f"\n{len(clips)} clips ({frames} frames: {', '.join(f'{k} {v}' for k, v in sorted(kinds.items()))}), "
        f"{len(stills)} single-frame tests, {len(NULL_TRANSFORMS)} transformations; {(time.time() - started) / 60:.1f} min."
    )
    failures = sum(r.ours_detected or r.reference_detected for r in clips + stills)
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
