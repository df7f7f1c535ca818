"""No lost jobs: a queued job survives a restart, and a worker killed with SIGKILL mid-job
leads to a bounded retry or an explicit failure with the reason, never a job stuck running."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from contextlib import ExitStack

import pytest

from tests.service.conftest import key_for, make_settings, wait_for
from tests.service.fleet import fresh_postgres_database, fresh_redis_queue

# slow enough to be caught mid-way: ~0.2 s per step on this CPU
SLOW_JOB = {"prompt": "a slow pan over hills", "num_frames": 33, "num_inference_steps": 30}


def test_a_queued_job_survives_a_server_restart(app_factory):
    first = app_factory(embedded_worker=False)
    headers = key_for(first, "generate")
    generation = first.post(
        "/v1/generations", json={"prompt": "a harbour at dawn", "num_frames": 4}, headers=headers
    ).json()
    assert first.get(f"/v1/generations/{generation['id']}", headers=headers).json()["status"] == "queued"
    first.__exit__(None, None, None)  # the server goes away with the job still queued

    second = app_factory(embedded_worker=True)
    done = wait_for(second, generation["id"], headers)
    assert done["status"] == "succeeded" and done["attempts"] == 1


def test_a_job_queued_in_the_database_but_lost_by_the_queue_is_resent(app_factory):
    first = app_factory(embedded_worker=False)
    headers = key_for(first, "generate")
    generation = first.post("/v1/generations", json={"prompt": "a forest", "num_frames": 3}, headers=headers).json()
    first.app.state.runtime.queue.flush()  # e.g. a Redis that lost its data
    first.__exit__(None, None, None)
    second = app_factory(embedded_worker=True)
    assert wait_for(second, generation["id"], headers)["status"] == "succeeded"


def start_worker(settings) -> subprocess.Popen:
    environment = dict(os.environ)
    for name, value in {
        "ORIGINFRAME_DATA_DIR": str(settings.data_dir),
        "ORIGINFRAME_MODELS_DIR": settings.models_dir,
        "ORIGINFRAME_DATABASE_URL": settings.database_url,
        "ORIGINFRAME_QUEUE_URL": settings.queue_url,
        "ORIGINFRAME_QUEUE_NAME": settings.queue_name,
        "ORIGINFRAME_LEASE_SECONDS": str(settings.lease_seconds),
        "ORIGINFRAME_REAPER_INTERVAL_S": str(settings.reaper_interval_s),
        "ORIGINFRAME_MAX_ATTEMPTS": str(settings.max_attempts),
        "ORIGINFRAME_ENCODE_PRESET": settings.encode_preset,
    }.items():
        environment[name] = value
    return subprocess.Popen(
        [sys.executable, "-m", "service.cli", "worker"],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def kill_mid_job(client, headers, worker: subprocess.Popen, generation_id: str) -> dict:
    deadline = time.monotonic() + 90
    while True:
        body = client.get(f"/v1/generations/{generation_id}", headers=headers).json()
        if body["status"] == "running" and body["progress"]["step"] >= 2:
            break
        assert worker.poll() is None, worker.stderr.read().decode()[-3000:]
        assert time.monotonic() < deadline, body
        time.sleep(0.05)
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=10)
    return body


@pytest.fixture(params=["embedded", "fleet"])
def deployment(request, tmp_path, models_dir):
    """embedded: SQLite database and Huey on SQLite. fleet: PostgreSQL database and Huey on Redis."""
    with ExitStack() as stack:
        overrides = dict(embedded_worker=False, lease_seconds=2.0, reaper_interval_s=0.3)
        if request.param == "fleet":
            overrides["database_url"] = stack.enter_context(fresh_postgres_database())
            url, name = stack.enter_context(fresh_redis_queue())
            overrides.update(queue_url=url, queue_name=name)
        yield lambda **more: make_settings(tmp_path / "data", models_dir, **(overrides | more))


def test_sigkilled_worker_job_is_retried_by_another_worker(app_factory, deployment):
    settings = deployment(max_attempts=2)
    client = app_factory(settings)
    headers = key_for(client, "generate")
    workers = [start_worker(settings)]
    try:
        generation = client.post("/v1/generations", json=SLOW_JOB, headers=headers).json()
        killed_at = kill_mid_job(client, headers, workers[0], generation["id"])
        retried = wait_for(client, generation["id"], headers, statuses=("queued",), timeout=30)
        assert retried["error"]["code"] == "worker_lost" and "attempt 2 of 2" in retried["error"]["reason"]
        workers.append(start_worker(settings))
        done = wait_for(client, generation["id"], headers, timeout=180)
        assert done["status"] == "succeeded" and done["attempts"] == 2, done
        assert killed_at["progress"]["step"] >= 2 and done["progress"]["step"] == SLOW_JOB["num_inference_steps"]
    finally:
        for worker in workers:
            worker.kill()
            worker.wait()


def test_sigkilled_worker_job_fails_with_reason_when_attempts_are_spent(app_factory, deployment):
    settings = deployment(max_attempts=1)
    client = app_factory(settings)
    headers = key_for(client, "generate")
    worker = start_worker(settings)
    try:
        generation = client.post("/v1/generations", json=SLOW_JOB, headers=headers).json()
        kill_mid_job(client, headers, worker, generation["id"])
        failed = wait_for(client, generation["id"], headers, timeout=30)
        assert failed["status"] == "failed" and failed["error"]["code"] == "worker_lost"
        assert "stopped responding" in failed["error"]["reason"] and failed["attempts"] == 1
    finally:
        worker.kill()
        worker.wait()


def test_sigterm_on_a_worker_mid_job_requeues_the_job_without_spending_an_attempt(app_factory, deployment):
    """A rolling deploy: SIGTERM stops the worker cleanly, and the job it held runs once more, elsewhere."""
    settings = deployment(max_attempts=1)  # with one attempt, a spent attempt would fail the job
    client = app_factory(settings)
    headers = key_for(client, "generate")
    workers = [start_worker(settings)]
    try:
        generation = client.post("/v1/generations", json=SLOW_JOB, headers=headers).json()
        deadline = time.monotonic() + 240  # a worker process starts in seconds on a quiet box, minutes on a busy one
        while client.get(f"/v1/generations/{generation['id']}", headers=headers).json()["progress"]["step"] < 2:
            assert workers[0].poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        workers[0].send_signal(signal.SIGTERM)
        assert workers[0].wait(timeout=60) == 0, workers[0].stderr.read().decode()[-3000:]
        handed_back = client.get(f"/v1/generations/{generation['id']}", headers=headers).json()
        assert handed_back["status"] == "queued" and handed_back["attempts"] == 0, handed_back
        workers.append(start_worker(settings))
        done = wait_for(client, generation["id"], headers, timeout=180)
        assert done["status"] == "succeeded" and done["attempts"] == 1, done
    finally:
        for worker in workers:
            worker.kill()
            worker.wait()
