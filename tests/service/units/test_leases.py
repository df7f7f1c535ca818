"""service/jobs/leases.py without HTTP: claim, fencing, release and reaping on a real SQLite."""

from __future__ import annotations

import time
import uuid

import pytest

from service.db import Database, Generation
from service.generations.status import GenerationStatus
from service.jobs import leases


@pytest.fixture
def db(tmp_path) -> Database:
    database = Database(f"sqlite:///{tmp_path / 'jobs.db'}")
    database.migrate()
    return database


def _queued(db: Database, *, model: str = "tiny", max_attempts: int = 2) -> str:
    generation_id = str(uuid.uuid4())
    with db.session() as session:
        session.add(
            Generation(
                id=generation_id,
                request_sha256="0" * 64,
                status=GenerationStatus.QUEUED,
                model=model,
                mode="text-to-video",
                parameters={},
                max_attempts=max_attempts,
            )
        )
    return generation_id


def _row(db: Database, generation_id: str) -> Generation:
    with db.session() as session:
        row = session.get(Generation, generation_id)
        assert row is not None
        return row


def test_a_job_is_claimed_once(db):
    job = _queued(db)
    assert leases.claim(db, job, "worker-a", 30.0) is True
    assert leases.claim(db, job, "worker-b", 30.0) is False
    row = _row(db, job)
    assert row.status == GenerationStatus.RUNNING and row.lease_owner == "worker-a" and row.attempts == 1


def test_a_worker_never_claims_a_model_it_does_not_serve(db):
    job = _queued(db, model="wan")
    assert leases.claim(db, job, "worker-a", 30.0, models=["tiny"]) is False
    assert _row(db, job).status == GenerationStatus.QUEUED
    assert leases.claim(db, job, "worker-a", 30.0, models=["wan"]) is True


def test_writes_are_fenced_on_the_lease_owner(db):
    job = _queued(db)
    leases.claim(db, job, "worker-a", 30.0)
    with pytest.raises(leases.LeaseLost):
        leases.update_owned(db, job, "worker-b", progress_step=3)
    leases.update_owned(db, job, "worker-a", progress_step=3)
    assert _row(db, job).progress_step == 3


def test_a_released_job_is_queued_again_without_spending_an_attempt(db):
    job = _queued(db)
    leases.claim(db, job, "worker-a", 30.0)
    assert leases.release(db, job, "worker-a", "shutting down") is True
    row = _row(db, job)
    assert row.status == GenerationStatus.QUEUED and row.attempts == 0 and row.lease_owner is None


def test_an_expired_lease_is_retried_then_failed_after_its_attempts(db):
    job = _queued(db, max_attempts=2)
    requeued: list[str] = []
    leases.claim(db, job, "worker-a", 0.01)
    time.sleep(0.05)
    assert [(r.generation_id, r.action) for r in leases.reap_expired(db, requeued.append)] == [(job, "retried")]
    assert requeued == [job] and _row(db, job).error_code == "worker_lost"
    with pytest.raises(leases.LeaseLost):  # the first worker, back from the dead, may not write
        leases.update_owned(db, job, "worker-a", progress_step=1)
    leases.claim(db, job, "worker-b", 0.01)
    time.sleep(0.05)
    assert [r.action for r in leases.reap_expired(db, requeued.append)] == ["failed"]
    row = _row(db, job)
    assert row.status == GenerationStatus.FAILED and row.finished_at is not None and requeued == [job]


def test_a_live_lease_is_not_reaped(db):
    job = _queued(db)
    leases.claim(db, job, "worker-a", 30.0)
    assert leases.reap_expired(db, lambda _: None) == []
    assert _row(db, job).status == GenerationStatus.RUNNING
