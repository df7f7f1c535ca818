"""Short clips of busy, noise-like texture: the watermark's hardest everyday case.

The tiny model's output (noise at the mark's own frequencies) is the example: N clips of
3, 6 and 16 frames at 256x256, each with a fresh key and identifier, marked, encoded the way
the service encodes (H.264 CRF 18, ultrafast) and detected. The same clips are marked once
with the adaptive budget (what the service does) and once at the fixed base budget (the
baseline), in the same run.

    python bench/watermark_short.py            # 100 clips per length
    python bench/watermark_short.py --clips 20
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from provenance.media import decode_video, encode_mp4_bytes
from provenance.watermark import Keyring, WatermarkKey, detect_watermark, embed
from service.backends import tiny
from service.backends.contract import GenerationInput
from service.settings import load_settings

SIZE = 256
FPS = 8


def _psnr(marked: np.ndarray, clip: np.ndarray) -> float:
    error = float(np.mean((marked.astype(np.float64) - clip) ** 2))
    return 10 * np.log10(255.0**2 / max(error, 1e-12))


def _trial(clip: np.ndarray, rng: np.random.Generator, adaptive: bool) -> tuple[bool, float]:
    key = WatermarkKey(1, rng.bytes(32))
    identifier = int(rng.integers(0, 2**63))
    steps = embed.BOOST_STEPS_DB
    embed.BOOST_STEPS_DB = steps if adaptive else ()
    try:
        marked = embed.embed_watermark(clip, identifier, key)
    finally:
        embed.BOOST_STEPS_DB = steps
    frames = decode_video(encode_mp4_bytes(marked, fps=FPS, crf=18, preset="ultrafast")).frames
    result = detect_watermark(frames, Keyring([key]))
    return result.detected and result.identifier == identifier, _psnr(marked, clip)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", type=int, default=100)
    parser.add_argument("--lengths", default="3,6,16")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as scratch:
        models = Path(scratch) / "models"
        tiny.build(models / f"tiny-ltx-v{tiny.FORMAT_VERSION}")
        backend = tiny.TinyBackend(load_settings(environ={}, data_dir=Path(scratch) / "data", models_dir=str(models)))
        backend.load()
        rows = []
        started = time.perf_counter()
        for length in (int(value) for value in args.lengths.split(",")):
            outcomes: dict[bool, list[tuple[bool, float]]] = {True: [], False: []}
            for seed in range(args.clips):
                request = GenerationInput(
                    prompt=f"clip {seed}",
                    num_frames=length,
                    fps=FPS,
                    width=SIZE,
                    height=SIZE,
                    num_inference_steps=4,
                    seed=seed,
                    guidance=1.0,
                )
                clip = backend.generate(request, lambda done, total: None)
                for adaptive in (True, False):
                    outcomes[adaptive].append(_trial(clip, np.random.default_rng([seed, length]), adaptive))
            rows.append((length, outcomes))
    print("| frames | budget | detected after CRF 18 | PSNR dB (median; min) |")
    print("| --- | --- | --- | --- |")
    for length, outcomes in rows:
        for adaptive, label in ((False, "fixed (baseline)"), (True, "adaptive, up to +2 dB")):
            found = sum(ok for ok, _ in outcomes[adaptive])
            psnr = [value for _, value in outcomes[adaptive]]
            print(f"| {length} | {label} | {found}/{len(psnr)} | {np.median(psnr):.2f}; {min(psnr):.2f} |")
    print(
        f"\n{args.clips} tiny-model clips per length, {SIZE}x{SIZE}, a fresh key and identifier per clip "
        f"(the same for both budgets); {(time.perf_counter() - started) / 60:.1f} min"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
