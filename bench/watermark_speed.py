"""The watermark detector's slowest case and the embedder's cost, one thread.

An unmarked 10 s 1080p clip (80 frames of moving subjects at 8 fps; the detector analyses at
most 64 frames of any clip, so a 25 fps clip costs the same) makes every stage run: the
whole-picture hypotheses, the scale sweep, the content region, the lattice search and the
window search. The baseline, measured in the same run, is the same clip marked (found by the
first hypothesis), so the ratio is what the search costs on top of reading the frames.
Also embed milliseconds per 1024x576 frame. Wall-clock and CPU time, median of --repeats.

    python bench/watermark_speed.py --repeats 3
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import cv2

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.watermark_scenes import scene
from provenance.watermark import Keyring, WatermarkKey, detect_watermark, embed_watermark


def _timed(function, repeats: int) -> tuple[float, float]:
    walls, cpus = [], []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        function()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    cv2.setNumThreads(1)
    key = WatermarkKey(7, bytes(range(32)))
    keyring = Keyring([key, WatermarkKey(3, bytes(range(1, 33)))], current_id=7)
    clip = scene("subjects", 1, 80, (1920, 1080))
    marked = embed_watermark(clip, 42, key)
    unmarked_wall, unmarked_cpu = _timed(lambda: detect_watermark(clip, keyring, fps=8.0), args.repeats)
    marked_wall, marked_cpu = _timed(lambda: detect_watermark(marked, keyring, fps=8.0), args.repeats)
    small = scene("subjects", 2, 25, (1024, 576))
    embed_wall, embed_cpu = _timed(lambda: embed_watermark(small, 42, key), args.repeats)
    print("| case | wall s (median) | CPU s (median) | ratio to marked (wall) |")
    print("| --- | --- | --- | --- |")
    print(
        f"| unmarked 10 s 1080p (80 frames, 64 analysed): every stage | {unmarked_wall:.2f} | {unmarked_cpu:.2f} | {unmarked_wall / marked_wall:.1f} |"
    )
    print(f"| marked 10 s 1080p (baseline: first hypothesis verifies) | {marked_wall:.2f} | {marked_cpu:.2f} | 1.0 |")
    print(
        f"| embed, 1024x576, per frame (25-frame clip) | {1e3 * embed_wall / 25:.1f} ms | {1e3 * embed_cpu / 25:.1f} ms | |"
    )
    print(f"\n{args.repeats} repeats, one thread (cv2.setNumThreads(1), OMP_NUM_THREADS as set by the caller).")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
