"""Model routing and the worker registry, in one process: a queue per model, claims that refuse
other models' jobs, workers that count only once warmed up, and jobs that say what they wait for."""

from __future__ import annotations

import time

import pytest

from service.db import Database, Generation
from service.jobs import leases
from service.jobs.queue import JobQueue
from service.jobs.registry import WorkerRegistration, list_workers, served_models
from tests.service.conftest import key_for, make_settings, wait_for


def _queued(db: Database, model: str) -> str:
    import uuid

    generation_id = str(uuid.uuid4())
    with db.session() as session:
        session.add(
            Generation(
                id=generation_id,
                request_sha256="0" * 64,
                status="queued",
                stage="queued",
                model=model,
                mode="text",
                parameters={},
                max_attempts=2,
                attempts=0,
            )
        )
    return generation_id


@pytest.fixture
def db(tmp_path):
    database = Database(f"sqlite:///{tmp_path / 'fleet.db'}")
    database.migrate()
    return database


def test_a_claim_refuses_a_job_for_a_model_the_worker_does_not_serve(db):
    ltx_job = _queued(db, "ltx")
    assert not leases.claim(db, ltx_job, "svd-worker", 5.0, models=["svd-xt"])
    with db.session() as session:
        assert session.get(Generation, ltx_job).status == "queued"  # untouched, still there for the right worker
    assert leases.claim(db, ltx_job, "ltx-worker", 5.0, models=["ltx", "tiny"])


def test_each_model_has_its_own_queue_and_a_worker_takes_only_from_its_own(tmp_path, models_dir):
    settings = make_settings(tmp_path / "data", models_dir, enabled_models="tiny,ltx,svd-xt")
    ran: list[str] = []
    api = JobQueue(settings, ran.append)
    svd_worker = JobQueue(settings, ran.append, served=["svd-xt"])
    both = JobQueue(settings, ran.append, served=["tiny", "ltx"])
    for index in range(2):
        api.enqueue(f"ltx-{index}", "ltx")
        api.enqueue(f"tiny-{index}", "tiny")
    assert api.pending_by_model() == {"tiny": 2, "ltx": 2, "svd-xt": 0}
    assert svd_worker.huey.dequeue() is None  # nothing an SVD-XT worker could run
    taken = [both.huey.dequeue().args[0] for _ in range(4)]
    assert sorted(taken) == ["ltx-0", "ltx-1", "tiny-0", "tiny-1"]
    assert {taken[0][:3], taken[1][:3]} == {"ltx", "tin"}  # models are served in turn, not one queue drained first
    assert both.huey.dequeue() is None
    with pytest.raises(ValueError, match="no queue"):
        api.enqueue("x", "svd")  # not offered here


def test_registry_counts_a_worker_only_after_warm_up_and_forgets_it_on_exit(db):
    worker = WorkerRegistration(
        db, "host:1:abc", ["svd-xt"], device="cuda:0", dtype="float16", heartbeat_s=0.1, ttl_s=1.0
    )
    worker.register()
    try:
        [row] = list_workers(db, ttl_s=1.0)
        assert row.state == "starting" and row.device == "cuda:0" and row.models == ["svd-xt"]
        assert served_models([row]) == set()  # loading: not yet a worker that serves svd-xt
        worker.mark_ready()
        worker.job_finished(True)
        worker.job_finished(True)
        worker.job_finished(False)
        time.sleep(0.35)
        [row] = list_workers(db, ttl_s=1.0)
        assert served_models([row]) == {"svd-xt"} and (row.jobs_done, row.jobs_failed) == (2, 1)
        assert row.seconds_since_seen < 0.5  # the heartbeat keeps it fresh
    finally:
        worker.deregister()
    assert list_workers(db, ttl_s=1.0) == []


def test_a_worker_that_stops_beating_stops_counting(db):
    worker = WorkerRegistration(db, "host:2:def", ["ltx"], device="cpu", dtype="float32", heartbeat_s=60, ttl_s=0.3)
    worker.register()
    worker.mark_ready()
    assert served_models(list_workers(db, ttl_s=0.3)) == {"ltx"}
    time.sleep(0.5)  # as if SIGKILLed: no heartbeat, no deregistration
    assert list_workers(db, ttl_s=0.3) == []
    worker.deregister()


def test_a_job_no_live_worker_serves_waits_and_says_so(app_factory, tmp_path, models_dir):
    client = app_factory(embedded_worker=False)
    headers = key_for(client, "generate")
    accepted = client.post("/v1/generations", json={"prompt": "a quiet lake", "num_frames": 3}, headers=headers)
    assert accepted.status_code == 202
    assert accepted.json()["waiting"] == "waiting for a worker that serves tiny"
    body = client.get(f"/v1/generations/{accepted.json()['id']}", headers=headers).json()
    assert body["status"] == "queued" and body["waiting"] == "waiting for a worker that serves tiny"
    health = client.get("/health").json()
    assert {"model": "tiny", "queued": 1, "live_workers": 0, "starting_workers": 0} in health["workers"]["models"]
    metrics = client.get("/metrics").text
    assert 'originframe_queue_depth{model="tiny"} 1.0' in metrics
    assert 'originframe_workers_live{model="tiny",state="ready"} 0.0' in metrics
    # a model this deployment does not offer is refused, not queued
    refused = client.post("/v1/generations", json={"prompt": "x", "model": "wan-99"}, headers=headers)
    assert refused.status_code == 422 and "offered" in refused.json()["detail"]


def test_the_embedded_worker_registers_and_nothing_waits(client, generate_key):
    health = client.get("/health").json()
    [me] = health["workers"]["live"]
    assert me["state"] == "ready" and "tiny" in me["models"]
    created = client.post(
        "/v1/generations", json={"prompt": "a red kite", "num_frames": 3}, headers=generate_key
    ).json()
    assert "waiting" not in created
    assert wait_for(client, created["id"], generate_key)["status"] == "succeeded"
    [me] = client.get("/health").json()["workers"]["live"]
    assert me["jobs_done"] == 1


def test_worker_models_must_be_offered(tmp_path, models_dir):
    from service.runtime import Runtime

    settings = make_settings(tmp_path / "data", models_dir, enabled_models="tiny", worker_models="tiny,svd-xt")
    with pytest.raises(ValueError, match="WORKER_MODELS names svd-xt"):
        Runtime(settings)
