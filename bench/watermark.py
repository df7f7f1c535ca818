"""Watermark robustness benchmark: Originframe's mark against invisible-watermark, side by side.

Builds 1024x576 clips (25 frames at 8 fps) that pan and zoom over scikit-image photographs,
plus a flat sky gradient; marks each with every method; applies each transformation with
PyAV / OpenCV / Pillow; detects; and prints one table: detection rate at the operating
point (clip-level false-positive rate <= 1e-6), mean bit accuracy, PSNR / SSIM against the
unmarked frames, and embed / detect milliseconds per frame (median of repeated runs of one
thread, in CPU time so that other work on the machine inflates them less, measured after the
sweep so its worker processes do not disturb them). A second table does the same for
photographs marked as stills (JPEG, WebP, resizing, cropping).

    python bench/watermark.py            # full run (about an hour on 2 busy cores)
    python bench/watermark.py --quick    # 4 sources, 12 frames, a few minutes
    python bench/watermark.py --json out.json

invisible-watermark is slow (dwtDctSvd ~0.4 s per frame to embed), so by default it runs on
the panning clips only (--baseline-motions).

Third-party re-encodes use PyAV's default RGB->YUV conversion (as a social network's
FFmpeg would), not the service's exact one; decoding uses provenance.media like the
verifier does. Every transformation other than a codec setting is followed by an H.264
CRF 23 encode, as an edited upload would be.
"""

from __future__ import annotations

import argparse
import io
import json
import multiprocessing
import os
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import transforms as attacks
from bench.transforms import (
    centre_crop,
    contrast,
    gaussian_noise,
    gif,
    photograph,
    resize_all,
    roundtrip,
    tone,
    trim_middle,
)
from bench.watermark_scenes import scene, scene_names
from provenance.watermark import Keyring, WatermarkKey, detect_watermark, embed_watermark
from provenance.watermark.reference import block_votes
from provenance.watermark.stats import binomial_tail

WIDTH, HEIGHT, FPS = 1024, 576, 8
# fresh worker processes: a forked child can inherit a lock that one of OpenCV's or FFmpeg's
# threads held at the fork, and wait on it for ever
_SPAWN = multiprocessing.get_context("spawn")
THRESHOLD = 1e-6
PHOTOS = (
    "astronaut",
    "chelsea",
    "coffee",
    "rocket",
    "hubble_deep_field",
    "immunohistochemistry",
    "retina",
    "motorcycle",
)


# ---------------------------------------------------------------- clips


def pan_zoom(image: np.ndarray, motion: str, frames: int) -> np.ndarray:
    """A virtual camera over a still: 'pan' sweeps across it (and 'pan-back' the other way, lower
    down), 'zoom' pushes in on its centre ('zoom-out' pulls back from a corner), 'drift' pulls
    back while sliding diagonally."""
    height, width = image.shape[:2]
    aspect = WIDTH / HEIGHT
    base = min(width, height * aspect) * 0.8
    out = []
    for index in range(frames):
        t = index / max(frames - 1, 1)
        if motion in ("pan", "pan-back"):
            view = base * 0.85
            along = t if motion == "pan" else 1.0 - t
            cx = (width - view) * (0.1 + 0.8 * along) + view / 2
            cy = (
                height / 2
                + 0.05 * height * np.sin(3 * t)
                + (0.1 * (height - view / aspect) if motion == "pan-back" else 0.0)
            )
        elif motion == "zoom-out":
            view = base * (0.6 + 0.4 * t)
            cx, cy = width / 2 - 0.15 * (width - view), height / 2 - 0.15 * (height - view / aspect)
        elif motion == "drift":
            view = base * (0.7 + 0.25 * t)
            cx = width / 2 + (0.5 - t) * (width - view) * 0.4
            cy = height / 2 + (t - 0.5) * (height - view / aspect) * 0.4
        else:
            view = base * (1.0 - 0.35 * t)
            cx, cy = width / 2, height / 2
        scale = WIDTH / view
        to_frame = np.float32([[scale, 0, WIDTH / 2 - scale * cx], [0, scale, HEIGHT / 2 - scale * cy]])
        out.append(
            cv2.warpAffine(image, to_frame, (WIDTH, HEIGHT), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)
        )
    return np.stack(out)


def sky_gradient(motion: str, frames: int) -> np.ndarray:
    """Flat content: a smooth sky, drifting slowly (the hardest case for a masked mark)."""
    top, horizon = np.array([40, 90, 170], np.float32), np.array([175, 205, 235], np.float32)
    x = np.arange(WIDTH, dtype=np.float32)[None, :, None] / WIDTH
    out = []
    for index in range(frames):
        drift = 2.0 * index if motion != "zoom" else 0.0
        y = (np.arange(HEIGHT, dtype=np.float32)[:, None, None] + drift) / (HEIGHT * 1.3)
        mix = np.clip(0.9 * y + 0.1 * (x if motion == "pan" else 1 - x), 0, 1)
        out.append(np.clip(np.rint(top + (horizon - top) * mix), 0, 255).astype(np.uint8))
    return np.stack(out)


@dataclass
class Clip:
    name: str
    frames: np.ndarray
    seed: int
    baseline: bool = True  # also run invisible-watermark on it


def build_clips(
    sources: list[str], motions: list[str], frames: int, baseline_motions: list[str] | None = None, scenes: int = 0
) -> list[Clip]:
    clips = []
    for kind, seed in scene_names(scenes):
        clips.append(
            Clip(f"{kind}#{seed}", scene(kind, seed, frames, (WIDTH, HEIGHT)), seed=len(clips), baseline=False)
        )
    for source in sources:
        for motion in motions:
            content = sky_gradient(motion, frames) if source == "sky" else pan_zoom(photograph(source), motion, frames)
            baseline = baseline_motions is None or motion in baseline_motions
            clips.append(Clip(f"{source}/{motion}", content, seed=len(clips), baseline=baseline))
    return clips


# ---------------------------------------------------------------- transformations


def image_codec(image: np.ndarray, format: str, quality: int) -> np.ndarray:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format=format, quality=quality)
    return np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"))


def resize_image(image: np.ndarray, fraction: float) -> np.ndarray:
    height, width = image.shape[:2]
    return cv2.resize(image, (int(width * fraction), int(height * fraction)), interpolation=cv2.INTER_AREA)


STILL_TRANSFORMS = {
    "none": lambda i: i,
    "JPEG quality 90": lambda i: image_codec(i, "JPEG", 90),
    "JPEG quality 75": lambda i: image_codec(i, "JPEG", 75),
    "WebP quality 80": lambda i: image_codec(i, "WEBP", 80),
    "resize 50%, JPEG 90": lambda i: image_codec(resize_image(i, 0.5), "JPEG", 90),
    "centre crop 90%, JPEG 90": lambda i: image_codec(centre_crop(i[None], 0.9)[0], "JPEG", 90),
    "brightness +20%, JPEG 90": lambda i: image_codec(tone(i, lambda v: v * 1.2), "JPEG", 90),
    "horizontal flip, JPEG 90": lambda i: image_codec(np.ascontiguousarray(i[:, ::-1]), "JPEG", 90),
}


TRANSFORMS = {
    "none": lambda f, fps, s: f,
    "H.264 CRF 18": lambda f, fps, s: roundtrip(f, fps, crf=18),
    "H.264 CRF 23": lambda f, fps, s: roundtrip(f, fps, crf=23),
    "H.264 CRF 28": lambda f, fps, s: roundtrip(f, fps, crf=28),
    "H.264 CRF 35": lambda f, fps, s: roundtrip(f, fps, crf=35),
    "H.265 CRF 28": lambda f, fps, s: roundtrip(f, fps, "libx265", 28),
    "VP9 CRF 32": lambda f, fps, s: roundtrip(f, fps, "libvpx-vp9", 32),
    "H.264 CRF 23 twice": lambda f, fps, s: roundtrip(roundtrip(f, fps, crf=23), fps, crf=23),
    "scale 50% (512x288)": lambda f, fps, s: roundtrip(resize_all(f, WIDTH // 2, HEIGHT // 2), fps),
    "scale 50%, back to 1024x576": lambda f, fps, s: resize_all(
        roundtrip(resize_all(f, WIDTH // 2, HEIGHT // 2), fps), WIDTH, HEIGHT
    ),
    "360p (640x360)": lambda f, fps, s: roundtrip(resize_all(f, 640, 360), fps),
    "360p, back to 1024x576": lambda f, fps, s: resize_all(roundtrip(resize_all(f, 640, 360), fps), WIDTH, HEIGHT),
    "centre crop 90%": lambda f, fps, s: roundtrip(centre_crop(f, 0.9), fps),
    "centre crop 80%": lambda f, fps, s: roundtrip(centre_crop(f, 0.8), fps),
    "brightness +20%": lambda f, fps, s: roundtrip(tone(f, lambda v: v * 1.2), fps),
    "brightness -20%": lambda f, fps, s: roundtrip(tone(f, lambda v: v * 0.8), fps),
    "contrast x0.8": lambda f, fps, s: roundtrip(contrast(f, 0.8), fps),
    "gamma 0.7": lambda f, fps, s: roundtrip(tone(f, lambda v: 255 * (v / 255) ** 0.7), fps),
    "gamma 1.4": lambda f, fps, s: roundtrip(tone(f, lambda v: 255 * (v / 255) ** 1.4), fps),
    "Gaussian noise sigma 3": lambda f, fps, s: roundtrip(gaussian_noise(f, 3.0, s), fps),
    "frame rate halved": lambda f, fps, s: roundtrip(f[::2], fps / 2),
    "trim to middle 1 s": lambda f, fps, s: roundtrip(trim_middle(f, fps, 1.0), fps),
    "horizontal flip": lambda f, fps, s: roundtrip(np.ascontiguousarray(f[:, :, ::-1]), fps),
    "GIF (256 colours, dithered)": lambda f, fps, s: gif(f, fps),
    "one frame of the CRF 23 clip": lambda f, fps, s: roundtrip(f, fps)[len(f) // 2 : len(f) // 2 + 1],
}


def _other_footage(frames: np.ndarray, seed: int, count: int | None = None) -> np.ndarray:
    """Footage that is not ours, the clip's size: a scene of moving subjects."""
    return scene("subjects", 10_000 + seed, count or len(frames), (frames.shape[2], frames.shape[1]))


# The reposts of issue 13 (each then H.264 CRF 23, as an upload would be).
REPOST_TRANSFORMS = {
    "portrait repost over blurred copy (720x1280)": lambda f, fps, s: roundtrip(attacks.portrait_repost(f), fps),
    "padded to a square, black bars": lambda f, fps, s: roundtrip(attacks.pad_square(f), fps),
    "picture-in-picture 50 % over other footage": lambda f, fps, s: roundtrip(
        attacks.picture_in_picture(f, _other_footage(f, s), 0.5), fps
    ),
    "picture-in-picture 40 %, top-left": lambda f, fps, s: roundtrip(
        attacks.picture_in_picture(f, _other_footage(f, s), 0.4, "top-left"), fps
    ),
    "shrunk to 80 % inside a decorated border": lambda f, fps, s: roundtrip(attacks.decorated_border(f, 0.8, s), fps),
    "vertical flip": lambda f, fps, s: roundtrip(attacks.vertical_flip(f), fps),
    "rotated 2 deg, zoomed to hide corners": lambda f, fps, s: roundtrip(attacks.rotate(f, 2.0, zoom=True), fps),
    "rotated 5 deg": lambda f, fps, s: roundtrip(attacks.rotate(f, 5.0), fps),
    "rotated -10 deg": lambda f, fps, s: roundtrip(attacks.rotate(f, -10.0), fps),
    "rotated 90 deg": lambda f, fps, s: roundtrip(attacks.rotate_quarter(f, 1), fps),
    "rotated 180 deg": lambda f, fps, s: roundtrip(attacks.rotate_quarter(f, 2), fps),
    "rotated 270 deg": lambda f, fps, s: roundtrip(attacks.rotate_quarter(f, 3), fps),
    "perspective, corners moved <= 4 %": lambda f, fps, s: roundtrip(attacks.perspective(f, 0.04, s), fps),
    "perspective, corners moved <= 8 %": lambda f, fps, s: roundtrip(attacks.perspective(f, 0.08, s), fps),
    "crop 70 % centred": lambda f, fps, s: roundtrip(attacks.crop(f, 0.7), fps),
    "crop 60 % off-centre (bottom-left)": lambda f, fps, s: roundtrip(attacks.crop(f, 0.6, (0.0, 1.0)), fps),
    "filmed off a screen": lambda f, fps, s: roundtrip(attacks.filmed_off_screen(f, s), fps),
    "in the middle of 10 s of other footage": lambda f, fps, s: roundtrip(
        attacks.inside_longer(f, _other_footage(f, s, 24), fps, 10.0, 5.0 - len(f) / fps / 2), fps
    ),
}
TRANSFORMS.update(REPOST_TRANSFORMS)

# Meta's VideoSeal validation attacks (videoseal/augmentation, get_validation_augs(is_video=True)),
# as we read them: crops keep that fraction of each side and are resized back; "perspective
# 0.5" is torchvision's distortion scale (corners move up to a quarter of the side); hue 0.25
# is a quarter turn. Non-codec rows are then H.264 CRF 23, like every other row here.
VIDEOSEAL_TRANSFORMS = {
    "VideoSeal: horizontal flip": lambda f, fps, s: roundtrip(attacks.horizontal_flip(f), fps),
    "VideoSeal: rotate 10": lambda f, fps, s: roundtrip(attacks.rotate(f, 10.0), fps),
    "VideoSeal: rotate 90": lambda f, fps, s: roundtrip(attacks.rotate_quarter(f, 1), fps),
    "VideoSeal: resized crop 0.71": lambda f, fps, s: roundtrip(attacks.resized_crop(f, 0.71), fps),
    "VideoSeal: resized crop 0.55": lambda f, fps, s: roundtrip(attacks.resized_crop(f, 0.55), fps),
    "VideoSeal: perspective 0.5": lambda f, fps, s: roundtrip(attacks.perspective(f, 0.25, s), fps),
    "VideoSeal: brightness 0.5": lambda f, fps, s: roundtrip(tone(f, lambda v: v * 0.5), fps),
    "VideoSeal: brightness 1.5": lambda f, fps, s: roundtrip(tone(f, lambda v: v * 1.5), fps),
    "VideoSeal: contrast 0.5": lambda f, fps, s: roundtrip(contrast(f, 0.5), fps),
    "VideoSeal: contrast 1.5": lambda f, fps, s: roundtrip(contrast(f, 1.5), fps),
    "VideoSeal: saturation 0.5": lambda f, fps, s: roundtrip(attacks.saturation(f, 0.5), fps),
    "VideoSeal: saturation 1.5": lambda f, fps, s: roundtrip(attacks.saturation(f, 1.5), fps),
    "VideoSeal: hue 0.25": lambda f, fps, s: roundtrip(attacks.hue_shift(f, 0.25), fps),
    "VideoSeal: greyscale": lambda f, fps, s: roundtrip(attacks.greyscale(f), fps),
    "VideoSeal: JPEG 40 (every frame)": lambda f, fps, s: roundtrip(attacks.jpeg_frames(f, 40), fps),
    "VideoSeal: blur 9": lambda f, fps, s: roundtrip(attacks.box_blur(f, 9), fps),
    "VideoSeal: H.264 CRF 30": lambda f, fps, s: roundtrip(f, fps, crf=30),
    "VideoSeal: H.264 CRF 40": lambda f, fps, s: roundtrip(f, fps, crf=40),
    "VideoSeal: H.264 CRF 50": lambda f, fps, s: roundtrip(f, fps, crf=50),
    "VideoSeal: H.265 CRF 23": lambda f, fps, s: roundtrip(f, fps, "libx265", 23),
    "VideoSeal: H.265 CRF 30": lambda f, fps, s: roundtrip(f, fps, "libx265", 30),
    "VideoSeal: H.265 CRF 40": lambda f, fps, s: roundtrip(f, fps, "libx265", 40),
    "VideoSeal: H.265 CRF 50": lambda f, fps, s: roundtrip(f, fps, "libx265", 50),
    "VideoSeal: H.264 + crop 0.71 + brightness 0.5": lambda f, fps, s: roundtrip(
        attacks.resized_crop(tone(f, lambda v: v * 0.5), 0.71), fps
    ),
}
TRANSFORMS.update(VIDEOSEAL_TRANSFORMS)
# Rows whose clip is marked at another size (the content is resized before marking).
SOURCE_SIZES = {
    "176x144 clip (marked at that size)": (176, 144),
    "228x128 clip (marked at that size)": (228, 128),
    "128x128 clip (marked at that size)": (128, 128),
}


# ---------------------------------------------------------------- methods


@dataclass
class Outcome:
    detected: bool
    bit_accuracy: float


class Originframe:
    name = "Originframe v1"

    def __init__(self) -> None:
        self.key = WatermarkKey(7, bytes(range(32)))
        self.keyring = Keyring([self.key, WatermarkKey(3, bytes(range(1, 33)))], current_id=7)

    def embed(self, frames: np.ndarray, seed: int):
        identifier = int(np.random.default_rng(seed).integers(0, 2**63)) * 2 + seed % 2
        return embed_watermark(frames, identifier, self.key), identifier

    def detect(self, frames: np.ndarray, truth) -> Outcome:
        from provenance.watermark.detect import channel_accuracy

        result = detect_watermark(frames, self.keyring)
        correct = result.detected and result.identifier == truth and result.key_id == self.key.key_id
        if result.detected and not correct:
            raise AssertionError(f"wrong identifier {result.identifier} (expected {truth})")
        if result.detected:
            accuracy = 1.0 - result.bit_errors / result.coded_bits
        else:
            accuracy = channel_accuracy(frames, truth, self.key)
        return Outcome(correct, accuracy)


def _message(seed: int) -> np.ndarray:
    return np.random.default_rng(10_000 + seed).integers(0, 2, 48).astype(np.int8)


def _binomial_decision(clip_bits: np.ndarray, message: np.ndarray) -> Outcome:
    matches = int(np.sum(clip_bits == message))
    return Outcome(binomial_tail(matches, message.size) <= THRESHOLD, matches / message.size)


class InvisibleWatermark:
    """invisible-watermark at its defaults, a random 48-bit message per clip. Embedding uses the
    library; detection uses a vectorised port of its decoder (bit-identical), averages each
    bit's block votes over frames, and applies the binomial test at the same threshold."""

    def __init__(self, method: str) -> None:
        self.method = method
        self.name = f"invisible-watermark {method}"

    def embed(self, frames: np.ndarray, seed: int):
        from imwatermark import WatermarkEncoder

        message = _message(seed)
        encoder = WatermarkEncoder()
        encoder.set_watermark("bits", message.tolist())
        marked = np.stack(
            [encoder.encode(np.ascontiguousarray(f[:, :, ::-1]), self.method)[:, :, ::-1] for f in frames]
        )
        return marked, message

    def votes(self, frame: np.ndarray) -> np.ndarray:
        if self.method == "dwtDct":
            return _generic_votes(frame, "max")
        return _generic_votes(frame, "svd")

    def detect(self, frames: np.ndarray, message: np.ndarray) -> Outcome:
        if min(frames.shape[1:3]) < 64:
            return Outcome(False, 0.5)
        votes = np.mean([self.votes(f) for f in frames], axis=0)
        return _binomial_decision((votes > 0.5).astype(np.int8), message)


def _generic_votes(frame: np.ndarray, kind: str) -> np.ndarray:
    if kind == "max":
        return block_votes(frame, "bgr")
    import pywt

    rows, cols = frame.shape[0] // 4 * 4, frame.shape[1] // 4 * 4
    u = cv2.cvtColor(np.ascontiguousarray(frame[:rows, :cols]), cv2.COLOR_RGB2YUV)[..., 1].astype(np.float64)
    band = pywt.dwt2(u, "haar")[0]
    br, bc = band.shape[0] // 4, band.shape[1] // 4
    blocks = band[: br * 4, : bc * 4].reshape(br, 4, bc, 4).transpose(0, 2, 1, 3).reshape(-1, 4, 4)
    # the largest singular value of a block's orthonormal DCT is the block's own
    top = np.linalg.svd(blocks, compute_uv=False)[:, 0]
    bits = (np.mod(top, 36.0) > 18.0).astype(np.float64)
    index = np.arange(bits.size) % 48
    return np.bincount(index, weights=bits, minlength=48) / np.maximum(np.bincount(index, minlength=48), 1)


def make_methods(include_baselines: bool):
    methods = [Originframe()]
    if include_baselines:
        methods += [InvisibleWatermark("dwtDct"), InvisibleWatermark("dwtDctSvd")]
    return methods


# ---------------------------------------------------------------- the sweep


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    from skimage.metrics import structural_similarity

    return float(structural_similarity(a, b, channel_axis=-1, data_range=255))


@dataclass
class Record:
    method: str
    clip: str
    transform: str
    detected: bool
    bit_accuracy: float


@dataclass
class Quality:
    method: str
    clip: str
    psnr: float
    ssim: float


def _sweep_clip(args) -> tuple[list[Record], list[Quality]]:
    clip, transforms, include_baselines = args
    cv2.setNumThreads(1)
    records, qualities = [], []
    for method in make_methods(include_baselines):
        if include_baselines and not isinstance(method, Originframe) and not clip.baseline:
            continue
        marked, truth = method.embed(clip.frames, clip.seed)
        sample = range(0, len(marked), max(len(marked) // 5, 1))
        qualities.append(
            Quality(
                method.name,
                clip.name,
                statistics.median(psnr(clip.frames[i], marked[i]) for i in sample),
                statistics.median(ssim(clip.frames[i], marked[i]) for i in sample),
            )
        )
        quality = qualities[-1]
        print(
            f"  quality\t{method.name}\t{clip.name}\t{quality.psnr:.3f}\t{quality.ssim:.5f}",
            file=sys.stderr,
            flush=True,
        )
        for name in transforms:
            if name in SOURCE_SIZES:
                if not isinstance(method, Originframe):
                    continue
                small, small_truth = method.embed(resize_all(clip.frames, *SOURCE_SIZES[name]), clip.seed)
                outcome = method.detect(roundtrip(small, FPS), small_truth)
            else:
                attacked = TRANSFORMS[name](marked, FPS, clip.seed)
                outcome = method.detect(attacked, truth)
            records.append(Record(method.name, clip.name, name, outcome.detected, outcome.bit_accuracy))
            # one line per result, so that a run stopped early still says what it measured
            print(
                f"  record\t{method.name}\t{clip.name}\t{name}\t{int(outcome.detected)}\t{outcome.bit_accuracy:.4f}",
                file=sys.stderr,
                flush=True,
            )
        print(f"  {clip.name:32s} {method.name}", file=sys.stderr, flush=True)
    return records, qualities


def _cpu_ms_per_frame(function, frames: int, repeats: int) -> float:
    runs = []
    for _ in range(repeats):
        start = time.process_time()
        function()
        runs.append((time.process_time() - start) / frames)
    return 1e3 * statistics.median(runs)


def time_methods(clip: Clip, include_baselines: bool, repeats: int) -> dict[str, tuple[float, float, float]]:
    """Median CPU ms per frame to embed, to detect a marked clip, and to detect an unmarked one
    (the detector's slowest case: every hypothesis fails), one thread, on one clip."""
    cv2.setNumThreads(1)
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        pass
    timings = {}
    for method in make_methods(include_baselines):
        ours = isinstance(method, Originframe)
        frames = clip.frames if ours else clip.frames[:3]  # the library is slow
        marked, _truth = method.embed(frames, clip.seed)
        embed = _cpu_ms_per_frame(
            lambda method=method, frames=frames: method.embed(frames, clip.seed), len(frames), repeats if ours else 1
        )
        if ours:
            detect = _cpu_ms_per_frame(
                lambda method=method, marked=marked: detect_watermark(marked, method.keyring), len(frames), repeats
            )
            unmarked = _cpu_ms_per_frame(
                lambda method=method, frames=frames: detect_watermark(frames, method.keyring), len(frames), repeats
            )
        else:
            detect = unmarked = _cpu_ms_per_frame(
                lambda method=method, marked=marked: [method.votes(f) for f in marked], len(frames), repeats
            )
        timings[method.name] = (embed, detect, unmarked)
    return timings


def time_stills(repeats: int) -> tuple[float, float, float]:
    """CPU ms to embed a 512x512 still, to detect it, and to clear an unmarked one."""
    ours = Originframe()
    image = photograph("astronaut")
    marked = embed_watermark(image, 1, ours.key)
    return (
        _cpu_ms_per_frame(lambda: embed_watermark(image, 1, ours.key), 1, repeats),
        _cpu_ms_per_frame(lambda: detect_watermark(marked, ours.keyring), 1, repeats),
        _cpu_ms_per_frame(lambda: detect_watermark(image, ours.keyring), 1, repeats),
    )


def library_decode_ms(clip: Clip, repeats: int) -> dict[str, float]:
    """invisible-watermark's own decoder, for reference (the sweep uses the vectorised port)."""
    from imwatermark import WatermarkDecoder

    out = {}
    frame = np.ascontiguousarray(clip.frames[0][:, :, ::-1])
    for method in ("dwtDct", "dwtDctSvd"):
        decoder = WatermarkDecoder("bits", 48)
        out[f"invisible-watermark {method}"] = _cpu_ms_per_frame(
            lambda decoder=decoder, method=method: decoder.decode(frame, method), 1, repeats
        )
    return out


STILL_PHOTOS = (
    "astronaut",
    "chelsea",
    "coffee",
    "rocket",
    "hubble_deep_field",
    "immunohistochemistry",
    "motorcycle",
    "retina",
)


def _sweep_still(name: str) -> tuple[list[Record], Quality]:
    cv2.setNumThreads(1)
    ours = Originframe()
    image = photograph(name)
    marked, truth = ours.embed(image, len(name))
    quality = Quality(ours.name, f"{name} (still)", psnr(image, marked), ssim(image, marked))
    records = []
    for transform, function in STILL_TRANSFORMS.items():
        outcome = ours.detect(function(marked), truth)
        records.append(Record(ours.name, name, transform, outcome.detected, outcome.bit_accuracy))
    return records, quality


def still_table(records: list[Record], qualities: list[Quality], timings: tuple[float, float, float]) -> str:
    lines = [
        "| still image, transformation | detected | bit acc. (coded bits, before error correction) |",
        "| --- | --- | --- |",
    ]
    for name in STILL_TRANSFORMS:
        rows = [r for r in records if r.transform == name]
        detected = sum(r.detected for r in rows)
        lines.append(f"| {name} | {detected}/{len(rows)} | {np.mean([r.bit_accuracy for r in rows]):.3f} |")
    lines.append(
        f"\nStills: {len(qualities)} photographs at their own sizes ({', '.join(q.clip.split(' ')[0] for q in qualities)}); "
        f"PSNR median {statistics.median(q.psnr for q in qualities):.2f} dB (min {min(q.psnr for q in qualities):.2f}), "
        f"SSIM median {statistics.median(q.ssim for q in qualities):.4f} (min {min(q.ssim for q in qualities):.4f}); "
        f"512x512 still: embed {timings[0]:.0f} ms, detect {timings[1]:.0f} ms marked, {timings[2]:.0f} ms unmarked (CPU)."
    )
    return "\n".join(lines)


def table(records: list[Record], qualities: list[Quality], timings, library_ms, methods: list[str], transforms) -> str:
    lines = []
    header = "| transformation | " + " | ".join(f"{m}: detected | {m}: bit acc." for m in methods) + " |"
    lines.append(header)
    lines.append("|" + " --- |" * (1 + 2 * len(methods)))
    for name in transforms:
        cells = []
        for method in methods:
            rows = [r for r in records if r.method == method and r.transform == name]
            detected = sum(r.detected for r in rows)
            cells.append(f"{detected}/{len(rows)} ({100 * detected / max(len(rows), 1):.0f} %)")
            cells.append(f"{np.mean([r.bit_accuracy for r in rows]):.3f}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append(
        "| method | PSNR dB (median; min clip) | SSIM (median; min clip) | PSNR flat sky | SSIM flat sky "
        "| embed ms/frame | detect ms/frame (marked; unmarked) |"
    )
    lines.append("| --- | --- | --- | --- | --- | --- | --- |")
    for method in methods:
        q = [x for x in qualities if x.method == method]
        sky = [x for x in q if x.clip.startswith("sky")] or q
        embed_ms, detect_ms, unmarked_ms = timings.get(method, (float("nan"),) * 3)
        detect_cell = f"{detect_ms:.1f}; {unmarked_ms:.1f}"
        if method in library_ms:
            detect_cell = f"{detect_ms:.1f} (library's own decoder: {library_ms[method]:.0f})"
        lines.append(
            f"| {method} | {statistics.median(x.psnr for x in q):.2f}; {min(x.psnr for x in q):.2f} "
            f"| {statistics.median(x.ssim for x in q):.4f}; {min(x.ssim for x in q):.4f} "
            f"| {statistics.median(x.psnr for x in sky):.2f} | {statistics.median(x.ssim for x in sky):.4f} "
            f"| {embed_ms:.1f} | {detect_cell} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="4 sources, one motion, 12 frames")
    parser.add_argument("--frames", type=int, default=None)
    parser.add_argument("--motions", default=None, help="comma-separated: pan,zoom,drift,pan-back,zoom-out")
    parser.add_argument(
        "--sources", default=None, help="comma-separated photo names and/or 'sky'; 'none' for scenes only"
    )
    parser.add_argument(
        "--scenes", type=int, default=0, help="also this many synthetic moving scenes (bench/watermark_scenes.py)"
    )
    parser.add_argument(
        "--reposts", action="store_true", help="only the repost rows (issue 13) and the small-clip rows"
    )
    parser.add_argument("--videoseal", action="store_true", help="only VideoSeal's validation attacks")
    parser.add_argument(
        "--issue13",
        action="store_true",
        help="the repost rows, the small-clip rows and VideoSeal's attacks, in one sweep",
    )
    parser.add_argument(
        "--transforms", default=None, help="subset (exact names), separated by commas, or by ';' when names hold commas"
    )
    parser.add_argument("--no-baselines", action="store_true", help="only Originframe's mark")
    parser.add_argument("--baseline-motions", default="pan", help="clips the invisible-watermark baselines run on")
    parser.add_argument("--no-stills", action="store_true", help="skip the still-image table")
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--repeats", type=int, default=5, help="timing repeats (median is reported)")
    parser.add_argument("--json", type=Path, default=None, help="also write raw records here")
    args = parser.parse_args(argv)

    frames = args.frames or (12 if args.quick else 25)
    motions = (args.motions or ("pan" if args.quick else "pan,zoom,drift")).split(",")
    sources = (
        args.sources or ("astronaut,coffee,hubble_deep_field,sky" if args.quick else ",".join(PHOTOS) + ",sky")
    ).split(",")
    if args.sources == "none":
        sources = []
    separator = ";" if args.transforms and ";" in args.transforms else ","
    transforms = args.transforms.split(separator) if args.transforms else list(TRANSFORMS) + list(SOURCE_SIZES)
    if args.reposts:
        transforms = ["none", *REPOST_TRANSFORMS, *SOURCE_SIZES]
    if args.videoseal:
        transforms = ["none", *VIDEOSEAL_TRANSFORMS]
    if args.issue13:
        transforms = ["none", *REPOST_TRANSFORMS, *SOURCE_SIZES, *VIDEOSEAL_TRANSFORMS]
    include_baselines = not args.no_baselines
    clips = build_clips(sources, motions, frames, args.baseline_motions.split(","), args.scenes)
    print(
        f"{len(clips)} clips of {frames} frames at {WIDTH}x{HEIGHT}, {FPS} fps; {len(transforms)} transformations",
        file=sys.stderr,
    )

    started = time.time()
    records: list[Record] = []
    qualities: list[Quality] = []
    jobs = [(clip, transforms, include_baselines) for clip in clips]
    if args.workers > 1:
        with ProcessPoolExecutor(args.workers, mp_context=_SPAWN) as pool:
            for clip_records, clip_qualities in pool.map(_sweep_clip, jobs):
                records += clip_records
                qualities += clip_qualities
    else:
        for job in jobs:
            clip_records, clip_qualities = _sweep_clip(job)
            records += clip_records
            qualities += clip_qualities
    sweep_seconds = time.time() - started

    still_records: list[Record] = []
    still_qualities: list[Quality] = []
    if not args.no_stills:
        stills = STILL_PHOTOS[:3] if args.quick else STILL_PHOTOS
        with ProcessPoolExecutor(max(args.workers, 1), mp_context=_SPAWN) as pool:
            for still_rows, still_quality in pool.map(_sweep_still, stills):
                still_records += still_rows
                still_qualities.append(still_quality)

    timing_clip = build_clips(["coffee"], ["pan"], 25)[0]
    timings = time_methods(timing_clip, include_baselines, args.repeats)
    library_ms = library_decode_ms(timing_clip, max(args.repeats // 2, 1)) if include_baselines else {}
    methods = [m.name for m in make_methods(include_baselines)]
    print(table(records, qualities, timings, library_ms, methods, transforms))
    if still_records:
        print()
        print(still_table(still_records, still_qualities, time_stills(args.repeats)))
    print(
        f"\n{len(clips)} clips ({', '.join(sorted({c.name.split('/')[0] for c in clips}))}; {', '.join(motions)}), "
        f"{frames} frames each, {WIDTH}x{HEIGHT} at {FPS} fps; detection at clip-level FPR <= {THRESHOLD:g}; "
        f"sweep {sweep_seconds / 60:.1f} min on {args.workers} worker(s); timings: median CPU time of {args.repeats} runs, one thread, "
        f"{os.cpu_count()} CPUs ({_cpu_name()})."
    )
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "records": [r.__dict__ for r in records],
                    "still_records": [r.__dict__ for r in still_records],
                    "qualities": [q.__dict__ for q in qualities],
                    "timings_ms": timings,
                    "library_decode_ms": library_ms,
                },
                indent=1,
            )
        )
    return 0


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


if __name__ == "__main__":
    raise SystemExit(main())
