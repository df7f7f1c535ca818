"""Cost of one verification, hostile uploads against normal clips, with the budget.

Every file of the hostile corpus (tests/service/hostile.py: a 52 KB 4096x4096 clip, a GIF of
600,000 tiny frames, a clip whose frames grow mid-stream, decompression bombs, truncated and
byte-flipped media, odd containers) and two normal clips go through the service's own
verification path (`Runtime.provenance.verify`, default settings, empty registry), each in a
fresh process so that peak memory is that file's alone:

* CPU: process CPU seconds (all threads, FFmpeg's included), median of --runs runs;
* peak: the highest resident memory during the runs, above the process's resident memory
  after a warm-up verification (what the file costs on top of an idle API process);
* outcome: the verdict, or the 4xx reason.

Budget (issue 11): <= 2 s CPU and <= 300 MB above idle for anything accepted. The ratio column
compares each file's CPU with the normal 640x360 clip measured in the same run.

    python bench/verify_budget.py            # full corpus, 3 runs each
    python bench/verify_budget.py --quick    # 1 run each, a 60,000-frame GIF
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CPU_BUDGET_S = 2.0
MEMORY_BUDGET_MB = 300.0


def _measure_one(path: Path, runs: int) -> dict:
    """Runs in the child: warm up, then verify `path` `runs` times."""
    import psutil

    from provenance.errors import ProvenanceError
    from service.problems import ServiceError
    from service.runtime import Runtime
    from service.settings import load_settings
    from tests.service import hostile

    data_dir = Path(tempfile.mkdtemp(prefix="originframe-bench-"))
    runtime = Runtime(load_settings(data_dir=data_dir))
    runtime.db.migrate()
    runtime.provenance.verify(hostile.h264_clip(128, 96, 8, noise=True))  # imports, keys, credentials
    process = psutil.Process()
    idle = process.memory_info().rss
    data = path.read_bytes()
    peak = idle
    sampling = True

    def sample() -> None:
        nonlocal peak
        while sampling:
            peak = max(peak, process.memory_info().rss)
            time.sleep(0.002)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    cpu, wall, outcome = [], [], ""
    for _ in range(runs):
        started_cpu, started = time.process_time(), time.perf_counter()
        try:
            report = runtime.provenance.verify(data)
            outcome = f"{report['verdict']} ({report['media']['frames_analysed']} frames analysed)"
        except (ServiceError, ProvenanceError) as error:
            outcome = f"refused: {str(error)[:70]}"
        except Exception as error:  # what the API would answer 500 to
            outcome = f"500: {type(error).__name__}: {str(error)[:60]}"
        cpu.append(time.process_time() - started_cpu)
        wall.append(time.perf_counter() - started)
    sampling = False
    sampler.join()
    return {
        "cpu_s": statistics.median(cpu),
        "wall_s": statistics.median(wall),
        "peak_mb": (peak - idle) / 2**20,
        "outcome": outcome,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(_measure_one(Path(args.one), args.runs)))
        return
    runs = 1 if args.quick else args.runs

    from tests.service import hostile

    files = {
        "normal: 640x360, 48 frames": hostile.normal_clip,
        "normal: 1280x720, 120 frames": lambda: hostile.h264_clip(1280, 720, 120, moving=True),
    }
    files.update(hostile.corpus(gif_frames=60_000 if args.quick else 600_000))
    folder = Path(tempfile.mkdtemp(prefix="originframe-corpus-"))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    rows = []
    for index, (name, build) in enumerate(files.items()):
        path = folder / f"{index:02d}.bin"
        path.write_bytes(build())
        child = subprocess.run(
            [sys.executable, __file__, "--one", str(path), "--runs", str(runs)],
            capture_output=True,
            text=True,
            env=env,
            timeout=900,
        )
        if child.returncode != 0:
            rows.append((name, path.stat().st_size, None, f"crashed: {child.stderr.strip().splitlines()[-1][:80]}"))
            continue
        rows.append((name, path.stat().st_size, json.loads(child.stdout.strip().splitlines()[-1]), None))
    baseline = rows[0][2]["cpu_s"] if rows[0][2] else float("nan")
    print(
        f"Budget: <= {CPU_BUDGET_S} s CPU, <= {MEMORY_BUDGET_MB:.0f} MB above idle; median of {runs} run(s); "
        f"ratio = CPU / CPU of the normal 640x360 clip ({baseline:.2f} s)\n"
    )
    print("| file | bytes | CPU s | wall s | ratio | peak MB above idle | within budget | outcome |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | --- | --- |")
    for name, size, measured, crash in rows:
        if measured is None:
            print(f"| {name} | {size:,} | – | – | – | – | **no** | {crash} |")
            continue
        within = measured["cpu_s"] <= CPU_BUDGET_S and measured["peak_mb"] <= MEMORY_BUDGET_MB
        print(
            f"| {name} | {size:,} | {measured['cpu_s']:.2f} | {measured['wall_s']:.2f} | "
            f"{measured['cpu_s'] / baseline:.1f} | {measured['peak_mb']:.0f} | {'yes' if within else '**no**'} | "
            f"{measured['outcome']} |"
        )


if __name__ == "__main__":
    main()
