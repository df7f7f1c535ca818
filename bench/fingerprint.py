"""Fingerprint registry benchmark: robustness, false matches, and lookup time at 100,000 clips.

1. Robustness. 1024x576 clips (25 frames at 8 fps) pan or zoom over scikit-image photographs,
   plus a flat sky gradient. Each is registered, then every transformation of the watermark
   benchmark (and the harsher ones the watermark does not survive) is applied with PyAV /
   OpenCV / Pillow -- third-party encodes use PyAV's default RGB->YUV conversion -- and the
   result is looked up. Match rate = top result is the right clip and within the threshold.
2. False matches. Clips from *other* photographs and collages of them (with pans, zooms, flips,
   colour casts) are compared with each other wherever they share no source photograph: the
   null distribution of clip distances. Its tail gives the false-match rate at the threshold and
   the log-linear tail fit used by ``provenance.fingerprint.matching``; the same is done for
   single frames (stills).
3. Scale. 100,000 synthetic registrations (half uniform random hashes, half perturbed copies of
   real frame hashes, which crowd the buckets the way real content does) plus the real clips;
   lookup time of ``search`` (median of repeated runs per query, then median over queries)
   against ``search_brute_force`` in the same run, and whether both return the same answer.

    python bench/fingerprint.py             # full run (~15 min on 2 busy cores)
    python bench/fingerprint.py --quick     # 4 photographs, smaller null, 20,000 registrations
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import transforms
from bench.transforms import centre_crop, contrast, gaussian_noise, photograph, resize_all, tone
from provenance.fingerprint import (
    MATCH_THRESHOLD,
    STILL_MATCH_THRESHOLD,
    Fingerprint,
    FingerprintIndex,
    compute_fingerprint,
)

WIDTH, HEIGHT, FRAMES, FPS = 1024, 576, 25, 8
PANNED_PHOTOS = (
    "astronaut",
    "chelsea",
    "coffee",
    "rocket",
    "hubble_deep_field",
    "immunohistochemistry",
    "retina",
    "motorcycle",
)
# zoom clips over other photographs: two registered clips of one photograph would overlap and
# rightly match each other's frames
ZOOMED_PHOTOS = ("camera", "coins")
NULL_PHOTOS = (
    PANNED_PHOTOS + ZOOMED_PHOTOS + ("moon", "clock", "brick", "grass", "gravel", "page", "colorwheel", "text")
)


# ---------------------------------------------------------------- clips


def camera_path(image: np.ndarray, rng: np.random.Generator, width: int, height: int, motion: str) -> np.ndarray:
    """A virtual camera over a still: 'pan' from one window to another, 'zoom' into the centre."""
    h, w = image.shape[:2]
    full = min(w, h * width / height)

    def window(scale: float, cx: float | None = None, cy: float | None = None) -> np.ndarray:
        ww, hh = full * scale, full * scale * height / width
        x = rng.uniform(0, w - ww) if cx is None else cx - ww / 2
        y = rng.uniform(0, h - hh) if cy is None else cy - hh / 2
        return np.array([x, y, ww, hh])

    if motion == "pan":
        start, end = window(rng.uniform(0.55, 0.85)), window(rng.uniform(0.55, 0.85))
    else:
        start = window(0.95, w / 2, h / 2)
        end = window(0.6, w / 2 + rng.uniform(-0.1, 0.1) * w, h / 2 + rng.uniform(-0.1, 0.1) * h)
    frames = []
    for index in range(FRAMES):
        x, y, ww, hh = start + (end - start) * index / (FRAMES - 1)
        warp = np.array([[ww / width, 0, x], [0, hh / height, y]])
        frames.append(
            cv2.warpAffine(
                image,
                warp,
                (width, height),
                flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                borderMode=cv2.BORDER_REFLECT,
            )
        )
    return np.stack(frames)


def sky_gradient() -> np.ndarray:
    top, horizon = np.array([40, 90, 170], np.float32), np.array([175, 205, 235], np.float32)
    x = np.arange(WIDTH, dtype=np.float32)[None, :, None] / WIDTH
    out = []
    for index in range(FRAMES):
        y = (np.arange(HEIGHT, dtype=np.float32)[:, None, None] + 2.0 * index) / (HEIGHT * 1.3)
        mix = np.clip(0.9 * y + 0.1 * x, 0, 1)
        out.append(np.clip(np.rint(top + (horizon - top) * mix), 0, 255).astype(np.uint8))
    return np.stack(out)


# ---------------------------------------------------------------- transformations


def roundtrip(frames: np.ndarray, fps: float = FPS, crf: int = 23) -> np.ndarray:
    """Re-encode as a quick uploader would: H.264, x264 preset 'veryfast'."""
    return transforms.roundtrip(frames, fps, crf=crf, preset="veryfast")


TRANSFORMS = {
    "H.264 CRF 18": lambda f, s: roundtrip(f, crf=18),
    "H.264 CRF 23": lambda f, s: roundtrip(f, crf=23),
    "H.264 CRF 28": lambda f, s: roundtrip(f, crf=28),
    "H.264 CRF 35": lambda f, s: roundtrip(f, crf=35),
    "H.264 CRF 40": lambda f, s: roundtrip(f, crf=40),
    "scale 50% (512x288)": lambda f, s: roundtrip(resize_all(f, WIDTH // 2, HEIGHT // 2)),
    "scale 25% (256x144)": lambda f, s: roundtrip(resize_all(f, WIDTH // 4, HEIGHT // 4)),
    "scale 25%, CRF 40": lambda f, s: roundtrip(resize_all(f, WIDTH // 4, HEIGHT // 4), crf=40),
    "360p (640x360)": lambda f, s: roundtrip(resize_all(f, 640, 360)),
    "centre crop 90%": lambda f, s: roundtrip(centre_crop(f, 0.9)),
    "centre crop 80%": lambda f, s: roundtrip(centre_crop(f, 0.8)),
    "brightness +20%": lambda f, s: roundtrip(tone(f, lambda v: v * 1.2)),
    "brightness -20%": lambda f, s: roundtrip(tone(f, lambda v: v * 0.8)),
    "contrast x0.8": lambda f, s: roundtrip(contrast(f, 0.8)),
    "gamma 0.7": lambda f, s: roundtrip(tone(f, lambda v: 255 * (v / 255) ** 0.7)),
    "gamma 1.4": lambda f, s: roundtrip(tone(f, lambda v: 255 * (v / 255) ** 1.4)),
    "Gaussian noise sigma 3": lambda f, s: roundtrip(gaussian_noise(f, 3.0, s)),
    "frame rate halved": lambda f, s: roundtrip(f[::2], fps=FPS / 2),
    "trim to middle 1 s": lambda f, s: roundtrip(transforms.trim_middle(f, FPS, 1.0)),
    "GIF (256 colours, dithered)": lambda f, s: transforms.gif(f, FPS),
    "horizontal flip": lambda f, s: roundtrip(np.ascontiguousarray(f[:, :, ::-1])),
    "one frame (still)": lambda f, s: roundtrip(f)[len(f) // 2 : len(f) // 2 + 1],
}


# the frame rate a copy's container declares, where it is not FPS
QUERY_FPS = {"frame rate halved": FPS / 2}


# ---------------------------------------------------------------- null clips


def null_clip(rng: np.random.Generator, photos: dict[str, np.ndarray]) -> tuple[frozenset[str], np.ndarray]:
    """A clip from one photograph or a collage of 2-4, flipped / rotated / colour-cast, panning."""
    names = list(photos)

    def jitter(image: np.ndarray) -> np.ndarray:
        if rng.random() < 0.5:
            image = image[:, ::-1]
        if rng.random() < 0.3:
            image = np.rot90(image, int(rng.integers(1, 4)))
        gains = rng.uniform(0.7, 1.3, 3)
        return np.ascontiguousarray(np.clip(image * gains, 0, 255).astype(np.uint8))

    if rng.random() < 1 / 3:
        sources = [names[int(rng.integers(len(names)))]]
        canvas = jitter(photos[sources[0]])
    else:
        sources = list(rng.choice(names, size=int(rng.integers(2, 5)), replace=False))
        canvas = np.zeros((600, 800, 3), np.uint8)
        cells = [(0, 0, 600, 800)]
        while len(cells) < len(sources):  # random guillotine split: every cell filled, layouts differ
            y, x, h, w = cells.pop(int(np.argmax([c[2] * c[3] for c in cells])))
            if w >= h:
                cut = int(w * rng.uniform(0.3, 0.7))
                cells += [(y, x, h, cut), (y, x + cut, h, w - cut)]
            else:
                cut = int(h * rng.uniform(0.3, 0.7))
                cells += [(y, x, cut, w), (y + cut, x, h - cut, w)]
        for source, (y0, x0, ch, cw) in zip(sources, cells, strict=False):
            image = jitter(photos[source])
            h, w = image.shape[:2]
            bh = int(min(h, w * ch / cw) * rng.uniform(0.4, 1.0))
            bw = int(bh * cw / ch)
            y, x = int(rng.integers(0, h - bh + 1)), int(rng.integers(0, w - bw + 1))
            canvas[y0 : y0 + ch, x0 : x0 + cw] = cv2.resize(
                image[y : y + bh, x : x + bw], (cw, ch), interpolation=cv2.INTER_AREA
            )
    motion = "pan" if rng.random() < 0.7 else "zoom"
    # the fingerprint works on a 160x90 luma image, so 512x288 loses nothing and halves the time
    return frozenset(sources), camera_path(canvas, rng, WIDTH // 2, HEIGHT // 2, motion)


def order_free_null(fingerprints: list[Fingerprint], sources: list[frozenset[str]]) -> np.ndarray:
    """The per-frame part of the clip distance, without the temporal alignment: for each query frame
    the closest frame of the other clip, median over frames, best variant. The aligned distance is
    never below what its own overlapping frames give here, so this null's tail is the pessimistic
    one (the aligned null is censored: most unrelated pairs have no alignment to measure)."""
    from provenance.fingerprint.frame_hash import informative
    from provenance.fingerprint.matching import frame_distances

    usable = [informative(f.strong[0]) for f in fingerprints]
    stored = [(f.hashes[0][u], f.strong[0][u]) for f, u in zip(fingerprints, usable, strict=False)]
    values = []
    for i, fingerprint in enumerate(fingerprints):
        q_hashes, q_strong = fingerprint.hashes[:, usable[i]], fingerprint.strong[:, usable[i]]
        if q_hashes.shape[1] == 0:
            continue
        for j, (hashes, strong) in enumerate(stored):
            if i == j or sources[i] & sources[j] or len(hashes) == 0:
                continue
            best = frame_distances(q_hashes.reshape(-1), q_strong.reshape(-1), hashes, strong).min(axis=1)
            values.append(float(np.median(best.reshape(q_hashes.shape), axis=1).min()))
    return np.array(values)


def null_distances(fingerprints: list[Fingerprint], sources: list[frozenset[str]], still: bool) -> np.ndarray:
    """Clip distance (as the registry scores it) of every ordered pair that shares no source photograph."""
    registry = FingerprintIndex()
    registry.add_many((str(i), f) for i, f in enumerate(fingerprints))
    values = []
    for i, fingerprint in enumerate(fingerprints):
        if still:
            middle = fingerprint.frame_count // 2
            fingerprint = Fingerprint(
                hashes=fingerprint.hashes[:, middle : middle + 1],
                strong=fingerprint.strong[:, middle : middle + 1],
                frame_indices=fingerprint.frame_indices[middle : middle + 1],
            )
        for result in registry.search_brute_force(fingerprint, max_results=len(fingerprints), matches_only=False):
            j = int(result.generation_key)
            if not sources[i] & sources[j]:
                values.append(result.distance)
    return np.array(values)


def tail_fit(values: np.ndarray) -> tuple[float, float]:
    """log10 P(D <= d) ~= a + b d, least squares over the quantiles 1e-2 .. (10 / n)."""
    floor = max(1e-5, 10 / len(values))
    levels = np.logspace(-2, np.log10(floor), 12)
    points = np.quantile(values, levels)
    slope, intercept = np.polyfit(points, np.log10(levels), 1)
    return float(intercept), float(slope)


# ---------------------------------------------------------------- synthetic registrations


def synthetic_fingerprints(count: int, pool: list[Fingerprint], rng: np.random.Generator) -> list:
    """Half uniform random hashes; half real frame hashes with 14-22 bits flipped (real-looking buckets)."""
    pool_hashes = np.concatenate([f.hashes[0] for f in pool])
    pool_strong = np.concatenate([f.strong[0] for f in pool])
    weights = np.left_shift(np.uint64(1), np.arange(64, dtype=np.uint64))
    uniform = count // 2
    hashes = np.empty((count, FRAMES), np.uint64)
    strong = np.empty((count, FRAMES), np.uint64)
    hashes[:uniform] = rng.integers(0, 2**64 - 1, (uniform, FRAMES), dtype=np.uint64, endpoint=True)
    strong[:uniform] = np.uint64(2**64 - 1)
    for start in range(uniform, count, 5000):
        stop = min(count, start + 5000)
        rows = rng.integers(0, len(pool_hashes), (stop - start, FRAMES))
        ranks = rng.random((stop - start, FRAMES, 64)).argsort(axis=-1).argsort(axis=-1)
        flips = ranks < rng.integers(14, 23, (stop - start, FRAMES, 1))
        hashes[start:stop] = pool_hashes[rows] ^ (flips.astype(np.uint64) * weights).sum(-1, dtype=np.uint64)
        strong[start:stop] = pool_strong[rows]
    frames = np.arange(FRAMES)
    return [
        (
            f"synthetic-{i}",
            Fingerprint(hashes=np.tile(hashes[i], (4, 1)), strong=np.tile(strong[i], (4, 1)), frame_indices=frames),
        )
        for i in range(count)
    ]


# ---------------------------------------------------------------- timing


def median_ms(function, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--registered", type=int, default=None, help="synthetic registrations (default 100,000)")
    parser.add_argument("--null-clips", type=int, default=None, help="clips in the null set (default 1,000)")
    args = parser.parse_args()
    panned = PANNED_PHOTOS[:4] if args.quick else PANNED_PHOTOS
    zoomed = ZOOMED_PHOTOS[:1] if args.quick else ZOOMED_PHOTOS
    transforms = list(TRANSFORMS)
    registered_synthetic = args.registered or (20_000 if args.quick else 100_000)
    null_count = args.null_clips or (300 if args.quick else 1000)
    rng = np.random.default_rng(2025)
    started = time.perf_counter()

    # 1. robustness ---------------------------------------------------------------------------
    clips: dict[str, np.ndarray] = {}
    for name in panned:
        clips[f"{name}/pan"] = camera_path(photograph(name), rng, WIDTH, HEIGHT, "pan")
    for name in zoomed:
        clips[f"{name}/zoom"] = camera_path(photograph(name), rng, WIDTH, HEIGHT, "zoom")
    clips["sky gradient"] = sky_gradient()
    registered = {key: compute_fingerprint(frames, fps=FPS) for key, frames in clips.items()}
    print(
        f"{len(clips)} clips of {FRAMES} frames {WIDTH}x{HEIGHT} at {FPS} fps; "
        f"informative frames: " + ", ".join(f"{k} {f.informative_frames}" for k, f in registered.items())
    )

    # 2. null -----------------------------------------------------------------------------------
    null_photos = {name: photograph(name) for name in NULL_PHOTOS}
    null_sources, null_fingerprints = [], []
    for _ in range(null_count):
        sources, frames = null_clip(rng, null_photos)
        null_sources.append(sources)
        null_fingerprints.append(compute_fingerprint(frames))
    clip_null = null_distances(null_fingerprints, null_sources, still=False)
    still_null = null_distances(null_fingerprints, null_sources, still=True)
    # the quadratic order-free null on at most 400 clips (it is computed here, not by the registry)
    order_free = order_free_null(null_fingerprints[:400], null_sources[:400])

    # 3. registry at scale ------------------------------------------------------------------------
    index = FingerprintIndex()
    build_start = time.perf_counter()
    index.add_many(synthetic_fingerprints(registered_synthetic, null_fingerprints, rng) + list(registered.items()))
    build_seconds = time.perf_counter() - build_start

    rows, query_times, brute_times, agree = [], [], [], 0
    queries_checked = 0
    for transform in transforms:
        hits, photo_clips, distances, gradient = 0, 0, [], "-"
        for seed, (key, frames) in enumerate(clips.items()):
            # the verifier reads the frame rate from the container, as here
            query = compute_fingerprint(TRANSFORMS[transform](frames, seed), fps=QUERY_FPS.get(transform, FPS))
            results = index.search(query, max_results=1)
            found = bool(results) and results[0].generation_key == key and results[0].is_match
            if key == "sky gradient":
                gradient = "no claim" if not results else ("MATCH" if found else f"WRONG {results[0].generation_key}")
                continue
            photo_clips += 1
            hits += found
            nearest = index.search(query, max_results=1, matches_only=False)
            distances.append(nearest[0].distance if nearest and nearest[0].generation_key == key else float("nan"))
            if seed < 3 and transform in (
                "H.264 CRF 28",
                "scale 25%, CRF 40",
                "trim to middle 1 s",
                "centre crop 80%",
                "GIF (256 colours, dithered)",
            ):
                query_times.append(median_ms(lambda query=query: index.search(query), 7))
                brute_times.append(median_ms(lambda query=query: index.search_brute_force(query), 1))
                agree += index.search(query) == index.search_brute_force(query)
                queries_checked += 1
        rows.append(
            (
                transform,
                hits,
                photo_clips,
                float(np.nanmax(distances)) if distances else float("nan"),
                float(np.nanmedian(distances)) if distances else float("nan"),
                gradient,
            )
        )

    # unrelated clips (not registered) looked up in the 100k registry: a claim is false unless it
    # names a registered clip of a photograph the query was made from
    false_claims, related_claims = 0, 0
    for fingerprint, sources in zip(null_fingerprints[:200], null_sources[:200], strict=False):
        for match in index.search(fingerprint):
            if match.generation_key.split("/")[0] in sources:
                related_claims += 1
            else:
                false_claims += 1
                print(f"  false claim: {match}")
        query_times.append(median_ms(lambda fingerprint=fingerprint: index.search(fingerprint), 3))

    # ---------------------------------------------------------------- report
    print()
    print(
        f"Robustness: match = top result is the registered clip and within the threshold "
        f"(clip distance <= {MATCH_THRESHOLD}, still <= {STILL_MATCH_THRESHOLD}), "
        f"among {len(index):,} registered clips"
    )
    print(f"{'transformation':32s} {'match rate':>11s} {'worst dist':>10s} {'median':>7s}  sky gradient")
    for transform, hits, total, worst, median, gradient in rows:
        print(f"{transform:32s} {hits:>5d}/{total:<5d} {worst:>10.2f} {median:>7.2f}  {gradient}")

    print()
    print("False matches (unrelated clips sharing no source photograph)")
    aligned = clip_null[clip_null < 64]
    print(
        f"  clips, as the registry scores them (temporal alignment): {len(clip_null):,} pairs, "
        f"{int((clip_null <= MATCH_THRESHOLD).sum())} within the threshold {MATCH_THRESHOLD}; only {len(aligned):,} "
        f"had any alignment to score" + (f" (min {aligned.min():.2f})" if len(aligned) else "")
    )
    for label, values, threshold in (
        ("clips, per-frame part only (order-free)", order_free, MATCH_THRESHOLD),
        ("stills", still_null, STILL_MATCH_THRESHOLD),
    ):
        intercept, slope = tail_fit(values)
        quantiles = ", ".join(f"q{q:g}={np.quantile(values, q):.1f}" for q in (1e-2, 1e-3, 1e-4))
        at_threshold = (values <= threshold).mean()
        print(f"  {label}: pairs={len(values):,}  min={values.min():.2f}  mean={values.mean():.1f}  {quantiles}")
        print(
            f"         at threshold {threshold}: {int((values <= threshold).sum())} of {len(values):,} "
            f"(empirical {at_threshold:.1e}); tail fit log10 P(D<=d) = {intercept:.2f} + {slope:.3f} d "
            f"-> {10 ** (intercept + slope * threshold):.1e} per comparison, "
            f"{min(1.0, 10 ** (intercept + slope * threshold) * len(index)):.1e} per search of {len(index):,}"
        )
    print(
        f"  200 unrelated clips searched in the registry: {false_claims} false claims "
        f"({related_claims} claims of a registered clip made from one of the query's photographs)"
    )

    print()
    print(f"Lookup among {len(index):,} registered clips ({index._frames:,} frames; bulk load {build_seconds:.1f} s)")
    print(f"{'method':34s} {'median ms':>10s} {'p95 ms':>8s} {'ratio':>8s}")
    mih, brute = statistics.median(query_times), statistics.median(brute_times)
    print(f"{'brute force (every frame)':34s} {brute:>10.1f} {np.percentile(brute_times, 95):>8.1f} {1.0:>8.2f}")
    print(
        f"{'multi-index hashing (search)':34s} {mih:>10.1f} {np.percentile(query_times, 95):>8.1f} {mih / brute:>8.4f}"
    )
    print(
        f"  same answer as brute force on {agree} of {queries_checked} transformed queries; speed-up {brute / mih:.0f}x"
    )
    print(
        f"  (2 shared CPU cores, other work running: timings are noisy; total bench time "
        f"{time.perf_counter() - started:.0f} s)"
    )


if __name__ == "__main__":
    main()
