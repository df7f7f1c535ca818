"""The fleet, end to end, on real servers: PostgreSQL (state), Redis (queues), SeaweedFS (media),
one API with no embedded worker, and two worker processes serving different models — tiny
variants of SVD-XT (image-to-video) and LTX-Video (text-to-video). Jobs land on the worker that
serves their model, media exists only in the bucket, a worker SIGKILLed mid-job costs one
attempt, and every job ends succeeded or failed with a reason.

Not here: a worker stopped with SIGTERM mid-job (issue 11 builds that shutdown path)."""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys
import time

import pytest
from sqlalchemy import select

from service.db import Generation
from service.storage import open_storage
from tests.service.conftest import key_for, make_settings, png_bytes, wait_for
from tests.service.fleet import fresh_postgres_database, fresh_redis_queue
from tests.service.seaweed import seaweedfs  # noqa: F401  (fixture)
from tests.service.tiny_svd import build_tiny_svd

pytestmark = pytest.mark.timeout(240)

# ~0.2 s per step on this CPU: slow enough to be killed mid-way
SLOW_LTX = {
    "model": "ltx",
    "prompt": "a slow pan over hills",
    "num_frames": 33,
    "width": 128,
    "height": 96,
    "num_inference_steps": 16,
}
QUICK_LTX = {"model": "ltx", "num_frames": 9, "width": 64, "height": 64, "num_inference_steps": 2}


@pytest.fixture(scope="module")
def tiny_svd_dir(tmp_path_factory):
    return build_tiny_svd(tmp_path_factory.mktemp("tiny-svd"))


@pytest.fixture
def shared_servers():
    """PostgreSQL database and Redis queue of this test; set up before the apps (listed first), so
    no app outlives them."""
    with fresh_postgres_database() as database_url, fresh_redis_queue() as (queue_url, queue_name):
        yield dict(database_url=database_url, queue_url=queue_url, queue_name=queue_name)


def _environment(settings, overrides: dict, server, models: str) -> dict[str, str]:
    environment = dict(os.environ)
    for name, value in overrides.items():
        environment[f"ORIGINFRAME_{name.upper()}"] = str(value).lower() if isinstance(value, bool) else str(value)
    environment["ORIGINFRAME_DATA_DIR"] = str(settings.data_dir)
    environment["ORIGINFRAME_MODELS_DIR"] = settings.models_dir
    environment["ORIGINFRAME_WORKER_MODELS"] = models
    environment.update(server.environment())
    return environment


def _start_worker(environment: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "service.cli", "worker"],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _live(client, admin) -> list[dict]:
    return client.get("/health", headers=admin).json()["workers"]["live"]


def _wait_ready(client, admin, workers: dict[str, subprocess.Popen], timeout: float = 150) -> dict[str, dict]:
    """Until every worker process is registered and ready; their registry rows by worker name."""
    deadline = time.monotonic() + timeout
    while True:
        rows = {row["pid"]: row for row in _live(client, admin) if row["state"] == "ready"}
        if all(process.pid in rows for process in workers.values()):
            return {name: rows[process.pid] for name, process in workers.items()}
        for name, process in workers.items():
            assert process.poll() is None, f"worker {name} exited: {process.stderr.read().decode()[-3000:]}"
        assert time.monotonic() < deadline, _live(client, admin)
        time.sleep(0.2)


def _files(root) -> list:
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


def test_a_fleet_routes_by_model_keeps_media_in_object_storage_and_loses_no_job(
    shared_servers, tmp_path, models_dir, tiny_svd_dir, seaweedfs, app_factory, monkeypatch
):
    from service.backends import tiny

    for name, value in seaweedfs.environment().items():
        monkeypatch.setenv(name, value)
    shared = dict(
        **shared_servers,
        enabled_models="svd-xt,ltx",
        default_model="ltx",
        svd_xt_model=str(tiny_svd_dir),
        decode_chunk_size=2,
        ltx_model=str(models_dir / f"tiny-ltx-v{tiny.FORMAT_VERSION}"),
        embedded_worker=False,
        lease_seconds=2.0,
        reaper_interval_s=0.3,
        max_attempts=2,
        worker_heartbeat_s=0.3,
        worker_ttl_s=2.0,
        encode_preset="ultrafast",
        # signing and watermark keys are shared secrets of the deployment, not media
        watermark_keys_dir=str(tmp_path / "secrets" / "watermark"),
        c2pa_dir=str(tmp_path / "secrets" / "c2pa"),
        **seaweedfs.storage_overrides(),
    )
    api_settings = make_settings(tmp_path / "api", models_dir, **shared)
    client = app_factory(api_settings)
    admin = key_for(client, "admin", name="operator")
    headers = key_for(client, "generate", "verify")
    node = {
        name: make_settings(tmp_path / f"worker-{name}", models_dir, **shared) for name in ("svd-xt", "ltx-a", "ltx-b")
    }
    workers: dict[str, subprocess.Popen] = {}
    try:
        # before any worker: accepted, and the record says what it waits for
        early = client.post("/v1/generations", json={**QUICK_LTX, "prompt": "a lighthouse at dusk"}, headers=headers)
        assert early.status_code == 202, early.text
        assert early.json()["waiting"] == "waiting for a worker that serves ltx"
        assert client.post("/v1/generations", json={"model": "svd", "prompt": "x"}, headers=headers).status_code == 422

        # two LTX workers (one takes over when the other is killed) and one SVD-XT worker, started together
        for name, model in (("svd-xt", "svd-xt"), ("ltx-a", "ltx"), ("ltx-b", "ltx")):
            workers[name] = _start_worker(_environment(node[name], shared, seaweedfs, model))
        ready = _wait_ready(client, admin, workers)
        assert [ready[name]["models"] for name in ("svd-xt", "ltx-a", "ltx-b")] == [["svd-xt"], ["ltx"], ["ltx"]]

        image = base64.b64encode(png_bytes(96, 64, seed=4)).decode()
        jobs = {
            "svd-xt": [
                client.post(
                    "/v1/generations",
                    json={
                        "model": "svd-xt",
                        "image": image,
                        "num_frames": 4,
                        "width": 64,
                        "height": 64,
                        "num_inference_steps": 2,
                    },
                    headers=headers,
                ).json()["id"]
            ],
            "ltx": [early.json()["id"]]
            + [
                client.post("/v1/generations", json={**QUICK_LTX, "prompt": prompt}, headers=headers).json()["id"]
                for prompt in ("a fox in snow", "rain on a window")
            ],
        }
        for model, ids in jobs.items():
            for generation_id in ids:
                done = wait_for(client, generation_id, headers, timeout=120)
                assert done["status"] == "succeeded" and done["model"] == model, done
        done_by_model: dict[str, int] = {}
        for row in _live(client, admin):
            done_by_model[row["models"][0]] = (
                done_by_model.get(row["models"][0], 0) + row["jobs_done"] + row["jobs_failed"]
            )
        assert done_by_model == {"svd-xt": 1, "ltx": 3}  # each job ran on a worker that serves its model

        # media only in the bucket; the download streams from it, and the clip verifies as ours
        storage = open_storage(api_settings)
        clip = client.get(f"/v1/generations/{jobs['svd-xt'][0]}/video", headers=headers)
        assert clip.status_code == 200 and clip.content == storage.get(f"videos/{jobs['svd-xt'][0]}.mp4")
        assert storage.exists(f"inputs/{jobs['svd-xt'][0]}")
        verdict = client.post("/v1/verify", files={"file": ("clip.mp4", clip.content, "video/mp4")}, headers=headers)
        assert verdict.status_code == 200 and verdict.json()["verdict"] == "generated_here", verdict.text[:2000]

        # a worker killed mid-job: the job is retried by the other worker for its model
        slow = client.post("/v1/generations", json=SLOW_LTX, headers=headers).json()["id"]
        deadline = time.monotonic() + 90
        while True:
            body = client.get(f"/v1/generations/{slow}", headers=headers).json()
            if body["status"] == "running" and body["progress"]["step"] >= 2:
                break
            assert time.monotonic() < deadline, body
            time.sleep(0.05)
        with client.app.state.runtime.db.session() as session:
            owner = session.get(Generation, slow).lease_owner  # host:pid:suffix
        [victim] = [name for name, process in workers.items() if f":{process.pid}:" in owner]
        assert victim.startswith("ltx")
        workers[victim].send_signal(signal.SIGKILL)
        workers[victim].wait(timeout=10)
        done = wait_for(client, slow, headers, timeout=150)
        assert done["status"] == "succeeded" and done["attempts"] == 2, done
        assert done["progress"]["step"] == SLOW_LTX["num_inference_steps"]
        deadline = time.monotonic() + 15  # the killed worker ages out of the registry
        while workers[victim].pid in {row["pid"] for row in _live(client, admin)}:
            assert time.monotonic() < deadline
            time.sleep(0.2)

        # a clean exit of an idle worker leaves the registry at once (not after the TTL)
        workers["svd-xt"].send_signal(signal.SIGTERM)
        workers["svd-xt"].wait(timeout=30)
        assert [row["models"] for row in _live(client, admin)] == [["ltx"]]  # the surviving LTX worker

        # every job ended succeeded, or failed with a reason; nothing on any node's disk
        with client.app.state.runtime.db.session() as session:
            rows = session.execute(select(Generation.status, Generation.error_reason)).all()
        assert rows and all(status == "succeeded" or (status == "failed" and reason) for status, reason in rows), rows
        for settings in (api_settings, *node.values()):
            assert _files(settings.resolved_storage_dir) == [], settings.resolved_storage_dir
    finally:
        for process in workers.values():
            process.kill()
            process.wait()
