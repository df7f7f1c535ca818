"""The whole provenance overhead per clip, and the time to verify a long HD clip.

1. Per 25-frame 1024x576 clip (built from scikit-image photographs, panning): watermark every
   frame + encode H.264 + sign C2PA + fingerprint — the work the service adds to every
   generation after the model has run (target <= 1 s on the 2-core development box). Baseline
   in the same run: encoding alone (what any service must do anyway).
2. Verify a 10 s 1080p H.264 clip (250 frames at 25 fps, marked and signed; and a copy at CRF 28
   without the manifest, so the check cannot lean on it) with `provenance.verify_clip` against a
   registry of 1,000 fingerprints (target <= 2 s). Baseline in the same run: decoding alone.

Prints a markdown table of medians over repeated runs. `--quick` for fewer runs.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def photo_clip(frames: int, width: int, height: int, seed: int = 0) -> np.ndarray:
    import cv2
    from skimage import data

    photos = [data.astronaut(), data.chelsea(), data.coffee(), data.rocket()]
    image = photos[seed % len(photos)]
    canvas = cv2.resize(image, (int(width * 1.3), int(height * 1.3)), interpolation=cv2.INTER_CUBIC)
    limit = canvas.shape[1] - width
    return np.stack([canvas[:height, int(limit * i / max(frames - 1, 1)) :][:, :width] for i in range(frames)])


def median_ms(function, runs: int) -> tuple[float, list[float]]:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        function()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples), samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--preset", default="veryfast", help="x264 preset of the service (ORIGINFRAME_ENCODE_PRESET)")
    args = parser.parse_args()
    runs = 2 if args.quick else args.runs

    import torch

    torch.set_num_threads(1)
    import av

    from provenance.credentials import SigningCredentials
    from provenance.fingerprint import FingerprintIndex, compute_fingerprint
    from provenance.manifest import ManifestInfo, sign_mp4
    from provenance.media import encode_mp4_bytes
    from provenance.verify import verify_clip
    from provenance.watermark import Keyring, embed_watermark

    folder = Path(tempfile.mkdtemp(prefix="bench-provenance-"))
    keyring = Keyring.load_or_create(folder / "keys")
    credentials = SigningCredentials.load_or_create_development(folder / "c2pa")
    info = ManifestInfo(
        generation_id="bench",
        model_id="tiny",
        model_version="1",
        parameters_digest="0" * 64,
        policy_version="bench",
        decision_id="bench",
        watermark_algorithm="originframe.wm.v1",
        watermark_value="1:0123456789abcdef",
    )
    clip = photo_clip(25, 1024, 576)
    rows = []

    encode_only, _ = median_ms(lambda: encode_mp4_bytes(clip, fps=25, crf=18, preset=args.preset), runs)
    stage_samples = {"watermark": [], "encode": [], "sign": [], "fingerprint": []}

    def provenance_overhead() -> None:
        started = time.perf_counter()
        marked = embed_watermark(clip, 0x0123456789ABCDEF, keyring.current)
        stage_samples["watermark"].append((time.perf_counter() - started) * 1000)
        moment = time.perf_counter()
        video = encode_mp4_bytes(marked, fps=25, crf=18, preset=args.preset)
        stage_samples["encode"].append((time.perf_counter() - moment) * 1000)
        moment = time.perf_counter()
        sign_mp4(video, info, credentials)
        stage_samples["sign"].append((time.perf_counter() - moment) * 1000)
        moment = time.perf_counter()
        compute_fingerprint(marked, fps=25)
        stage_samples["fingerprint"].append((time.perf_counter() - moment) * 1000)

    total, _ = median_ms(provenance_overhead, runs)
    rows.append(("encode only (baseline)", "25 frames 1024x576", encode_only, 1.0, ""))
    for stage, samples in stage_samples.items():
        rows.append((f"  {stage}", "25 frames 1024x576", statistics.median(samples), None, ""))
    rows.append(
        (
            "watermark + encode + sign + fingerprint",
            "25 frames 1024x576",
            total,
            total / encode_only,
            "target <= 1000 ms",
        )
    )

    # a 10 s 1080p clip, marked, signed, then re-encoded (no manifest left to lean on)
    long_clip = photo_clip(250, 1920, 1080, seed=1)
    marked = embed_watermark(long_clip, 0x0FEDCBA987654321, keyring.current)
    original = encode_mp4_bytes(marked, fps=25, crf=18, preset=args.preset)
    signed = sign_mp4(original, info, credentials)
    stripped = encode_mp4_bytes(marked, fps=25, crf=28, preset=args.preset)  # a copy without the manifest
    index = FingerprintIndex()
    rng = np.random.default_rng(0)
    for number in range(999):
        index.add(f"noise-{number}", compute_fingerprint(rng.integers(0, 255, (8, 64, 64, 3), dtype=np.uint8)))
    index.add("the-clip", compute_fingerprint(marked, fps=25))
    del long_clip, marked

    def decode_only(data: bytes) -> None:
        with av.open(io.BytesIO(data)) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            for _ in container.decode(stream):
                pass

    for label, data in (("signed original", signed), ("stripped copy, CRF 28", stripped)):
        decode_ms, _ = median_ms(lambda data=data: decode_only(data), runs)
        outcome: dict = {}

        # the loop's values bound as defaults: the closure is timed within this iteration
        def verify(data: bytes = data, outcome: dict = outcome) -> None:
            outcome["report"] = verify_clip(
                data,
                keyring=keyring,
                trust_anchors_pem=credentials.trust_anchors_pem(),
                fingerprints=index,
                own_roots_pem=credentials.own_roots_pem,
            )

        verify_ms, _ = median_ms(verify, runs)
        report = outcome["report"]
        rows.append((f"decode only (baseline), {label}", "250 frames 1920x1080", decode_ms, 1.0, ""))
        rows.append(
            (
                f"verify_clip, {label}",
                "250 frames 1920x1080",
                verify_ms,
                verify_ms / decode_ms,
                f"target <= 2000 ms; verdict {report.verdict} ({report.strongest_evidence}); "
                + ", ".join(f"{k} {v:.0f}" for k, v in report.timings_ms.items()),
            )
        )

    print(f"machine: {os.cpu_count()} cores, torch threads 1, x264 preset {args.preset}, median of {runs} runs\n")
    print("| work | clip | median ms | ratio to baseline | notes |")
    print("| --- | --- | --- | --- | --- |")
    for work, clip_text, milliseconds, ratio, notes in rows:
        ratio_text = f"{ratio:.2f}x" if ratio is not None else ""
        print(f"| {work} | {clip_text} | {milliseconds:.0f} | {ratio_text} | {notes} |")


if __name__ == "__main__":
    main()
