"""What a per-frame watermark score means on *unmarked* footage: the per-frame null.

The verify page draws each analysed frame's watermark score. Those scores are correlations with
the key's template at the registration the detector settled on -- for an unmarked clip, the
best of many it searched -- so a Gaussian "z > 4.75 is 1e-6" reading does not hold: the search
lifts the scores of unmarked frames. This script measures the scores unmarked frames actually
get, so the chart's line can state a per-frame false-positive rate that was measured.

Footage: 25-frame segments of moving-camera and moving-subject shots over scikit-image
photographs (bench/fingerprint_neighbours.py's shots), re-encoded H.264 CRF 23, verified the way
``provenance.verify`` runs the detector (one key). Prints the quantiles of the per-frame scores,
the share of frames above candidate lines, and the clip-level detections (expected: none).

    python bench/watermark_frame_null.py            # 12 photographs x 3 shot kinds x 2 segments
    python bench/watermark_frame_null.py --quick    # 4 photographs
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.fingerprint_neighbours import FPS, KINDS, PHOTOS, SEGMENT, SUBJECTS, shot
from bench.transforms import photograph, roundtrip
from provenance.watermark import Keyring, WatermarkKey, detect_watermark

KEYRING = Keyring([WatermarkKey(7, bytes(range(32)))], current_id=7)
LINES = (3.0, 4.0, 4.75, 5.0, 6.0, 7.0, 8.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    photos = PHOTOS[:4] if args.quick else PHOTOS
    rng = np.random.default_rng(17)
    started = time.perf_counter()
    scores: list[float] = []
    clips = detected = 0
    for p, name in enumerate(photos):
        image = photograph(name)
        subject = photograph(SUBJECTS[p % len(SUBJECTS)] if SUBJECTS[p % len(SUBJECTS)] != name else "moon")
        for kind in KINDS:
            frames = shot(kind, image, subject, rng)
            for segment in (0, 3):
                clip = roundtrip(frames[segment * SEGMENT : (segment + 1) * SEGMENT], FPS, crf=23, preset="veryfast")
                result = detect_watermark(clip, KEYRING)
                clips += 1
                detected += result.detected
                scores.extend(float(s) for s in result.frame_scores)
    values = np.array(scores)
    print(
        f"{clips} unmarked clips ({len(values)} frames), 512x288, 25 frames each, H.264 CRF 23; "
        f"clip-level detections: {detected} ({time.perf_counter() - started:.0f} s)"
    )
    print(
        "per-frame score quantiles: "
        + ", ".join(f"q{q:g}={np.quantile(values, q):.2f}" for q in (0.5, 0.9, 0.99, 0.999))
        + f", max={values.max():.2f}"
    )
    print(f"{'line':>6s} {'frames above':>14s} {'share':>9s}")
    for line in LINES:
        above = int((values >= line).sum())
        print(f"{line:>6.2f} {above:>7d}/{len(values):<6d} {above / len(values):>9.2e}")


if __name__ == "__main__":
    main()
