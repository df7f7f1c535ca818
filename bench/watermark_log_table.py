"""The robustness table from a sweep's log (`bench/watermark.py ... 2> LOG`), complete or cut
short: every result line the sweep printed, per row, with the one-sided 95 % Clopper-Pearson
lower bound on the detection rate, and the quality lines' PSNR and SSIM.

    python bench/watermark_log_table.py LOG [--method "Originframe v1"]
"""

from __future__ import annotations

import argparse
import statistics
from collections import defaultdict
from pathlib import Path

from scipy.stats import beta


def lower_bound(successes: int, trials: int, confidence: float = 0.95) -> float:
    """One-sided Clopper-Pearson lower confidence bound on a binomial rate."""
    return 0.0 if successes == 0 else float(beta.ppf(1 - confidence, successes, trials - successes + 1))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("log", type=Path)
    parser.add_argument("--method", default="Originframe v1")
    args = parser.parse_args(argv)
    rows: dict[str, list[tuple[bool, float, str]]] = defaultdict(list)
    psnrs, ssims = [], []
    for line in args.log.read_text().splitlines():
        fields = line.strip().split("\t")
        if fields[0] == "record" and fields[1] == args.method:
            rows[fields[3]].append((fields[4] == "1", float(fields[5]), fields[2]))
        elif fields[0] == "quality" and fields[1] == args.method:
            psnrs.append(float(fields[3]))
            ssims.append(float(fields[4]))
    print(
        "| transformation (then H.264 CRF 23 unless a codec row) | detected | 95 % lower bound | bit acc. (mean) | missed on |"
    )
    print("| --- | --- | --- | --- | --- |")
    for name, results in rows.items():
        detected = sum(hit for hit, _, _ in results)
        misses = sorted({clip.split("#")[0] for hit, _, clip in results if not hit})
        print(
            f"| {name} | {detected}/{len(results)} | {100 * lower_bound(detected, len(results)):.1f} % "
            f"| {statistics.mean(acc for _, acc, _ in results):.3f} | {', '.join(misses) or '-'} |"
        )
    if psnrs:
        print(
            f"\n{len(psnrs)} clips: PSNR median {statistics.median(psnrs):.2f} dB (min {min(psnrs):.2f}), "
            f"SSIM median {statistics.median(ssims):.4f} (min {min(ssims):.4f})"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
