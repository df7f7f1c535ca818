"""Temporal localisation: a 3 s marked clip inside 20 s of other footage.

Each source scene is marked (3 s at 8 fps, 640x360), placed at a random start inside 20 s of
other footage (moving subjects, cartoons), H.264 CRF 23, and detected with the frame rate
given. Prints whether the identifier was found, the error of the reported time range at each
end, and, in the same run, the baseline: the same videos detected as a whole only (the
window search switched off), so the ratio says what the windows add. The unmarked videos
(the same footage without the clip) must stay clear.

    python bench/watermark_temporal.py --sources 12
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import transforms as attacks
from bench.transforms import roundtrip
from bench.watermark_scenes import scene, scene_names
from provenance.watermark import Keyring, WatermarkKey, detect_watermark, embed_watermark
from provenance.watermark import detect as detection

FPS, SIZE, CLIP_S, TOTAL_S = 8.0, (640, 360), 3.0, 20.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sources", type=int, default=12)
    args = parser.parse_args(argv)
    key = WatermarkKey(7, bytes(range(32)))
    keyring = Keyring([key, WatermarkKey(3, bytes(range(1, 33)))], current_id=7)
    found = whole_found = clear = 0
    errors: list[float] = []
    started = time.time()
    for index, (kind, seed) in enumerate(scene_names(args.sources)):
        rng = np.random.default_rng(index)
        clip = scene(kind, seed, int(CLIP_S * FPS), SIZE)
        other = scene("subjects" if index % 2 else "cartoon", 500 + seed, 48, SIZE)
        start = float(rng.uniform(1.0, TOTAL_S - CLIP_S - 1.0))
        marked = embed_watermark(clip, 1000 + index, key)
        video = roundtrip(attacks.inside_longer(marked, other, FPS, TOTAL_S, start), FPS)
        result = detect_watermark(video, keyring, fps=FPS)
        if result.detected and result.identifier == 1000 + index and result.segments:
            found += 1
            segment = result.segments[0]
            errors += [abs(segment.start_s - start), abs(segment.end_s - (start + CLIP_S))]
        saved = detection.MAX_WINDOWS
        detection.MAX_WINDOWS = 0  # the baseline: the whole video only
        try:
            whole_found += detect_watermark(video, keyring).detected
        finally:
            detection.MAX_WINDOWS = saved
        unmarked = roundtrip(attacks.inside_longer(clip, other, FPS, TOTAL_S, start), FPS)
        clear += not detect_watermark(unmarked, keyring, fps=FPS).detected
        print(
            f"  {kind}#{seed}: start {start:.2f} s -> {[(s.start_s, s.end_s) for s in result.segments]}",
            file=sys.stderr,
            flush=True,
        )
    n = args.sources
    print("| 3 s clip inside 20 s of other footage, H.264 CRF 23 | result |")
    print("| --- | --- |")
    print(f"| found, with its identifier and a time range (windows) | {found}/{n} |")
    print(f"| found by the whole-video search alone (baseline, same run) | {whole_found}/{n} |")
    if errors:
        print(
            f"| time-range error at either end: median; max | {statistics.median(errors):.2f} s; {max(errors):.2f} s |"
        )
    print(f"| the same footage without the clip: clear | {clear}/{n} |")
    print(f"\n{n} sources ({SIZE[0]}x{SIZE[1]}, {FPS:g} fps), {(time.time() - started) / 60:.1f} min.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
