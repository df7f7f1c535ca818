"""Job ownership in the database: claim with compare-and-set, renew while alive, reap when dead.

The task queue delivers a job id; the database decides who runs it. A worker that dies
(SIGKILL, power loss) stops renewing its lease, and any process's reaper then retries
the job (up to max_attempts) or fails it with the reason, so no job stays `running`.
Every write after the claim is fenced on the lease owner, so a worker that lost its
lease cannot overwrite the job another worker now owns.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import and_, select, update

from service.db import Database, Generation, rowcount, utcnow
from service.generations.status import FINAL_STATES, GenerationStatus, Progress

logger = logging.getLogger("originframe.jobs")

QUEUED, RUNNING, REVIEW = GenerationStatus.QUEUED, GenerationStatus.RUNNING, GenerationStatus.REVIEW
SUCCEEDED, FAILED, BLOCKED, CANCELLED = (
    GenerationStatus.SUCCEEDED,
    GenerationStatus.FAILED,
    GenerationStatus.BLOCKED,
    GenerationStatus.CANCELLED,
)


class LeaseLost(Exception):
    """This worker no longer owns the job (its lease expired and the job was reaped)."""


def claim(
    db: Database, generation_id: str, worker_id: str, lease_seconds: float, models: Collection[str] | None = None
) -> bool:
    """Take a queued job. False when it is not queued (done, cancelled, or another worker has it),
    or when `models` is given and the job's model is not among them (a worker never runs a job
    for a model it does not serve, whatever queue the message came from)."""
    now = utcnow()
    conditions = [Generation.id == generation_id, Generation.status == QUEUED, Generation.cancel_requested.is_(False)]
    if models is not None:
        conditions.append(Generation.model.in_(list(models)))
    with db.session() as session:
        result = session.execute(
            update(Generation)
            .where(*conditions)
            .values(
                status=RUNNING,
                stage=Progress.STARTING,
                lease_owner=worker_id,
                lease_expires_at=now + timedelta(seconds=lease_seconds),
                attempts=Generation.attempts + 1,
                started_at=now,
                error_code=None,
                error_reason=None,
            )
        )
        return rowcount(result) == 1


def _owned(generation_id: str, worker_id: str):
    return and_(Generation.id == generation_id, Generation.status == RUNNING, Generation.lease_owner == worker_id)


def renew(db: Database, generation_id: str, worker_id: str, lease_seconds: float) -> bool:
    """Extend the lease; returns whether cancellation was requested. Raises LeaseLost."""
    with db.session() as session:
        result = session.execute(
            update(Generation)
            .where(_owned(generation_id, worker_id))
            .values(lease_expires_at=utcnow() + timedelta(seconds=lease_seconds))
        )
        if rowcount(result) != 1:
            raise LeaseLost(generation_id)
        return bool(session.scalar(select(Generation.cancel_requested).where(Generation.id == generation_id)))


def update_owned(db: Database, generation_id: str, worker_id: str, **values) -> None:
    """Write fields of a job this worker runs; raises LeaseLost if it no longer does."""
    with db.session() as session:
        result = session.execute(update(Generation).where(_owned(generation_id, worker_id)).values(**values))
        if rowcount(result) != 1:
            raise LeaseLost(generation_id)


def finish(db: Database, generation_id: str, worker_id: str, status: str, **values) -> None:
    values.setdefault("finished_at", utcnow() if status in FINAL_STATES else None)
    update_owned(db, generation_id, worker_id, status=status, lease_owner=None, lease_expires_at=None, **values)


def release(db: Database, generation_id: str, worker_id: str, reason: str) -> bool:
    """Give a job back to the queue (graceful shutdown); the attempt does not count."""
    with db.session() as session:
        result = session.execute(
            update(Generation)
            .where(_owned(generation_id, worker_id))
            .values(
                status=QUEUED,
                stage=QUEUED,
                lease_owner=None,
                lease_expires_at=None,
                attempts=Generation.attempts - 1,
                progress_step=0,
                error_reason=reason,
            )
        )
        return rowcount(result) == 1


@dataclass
class ReapedJob:
    generation_id: str
    action: str  # "retried" | "failed" | "cancelled"


def reap_expired(db: Database, enqueue: Callable[[str], None]) -> list[ReapedJob]:
    """Retry or fail every running job whose lease has expired. Safe to run in many processes."""
    now = utcnow()
    with db.session() as session:
        expired = session.execute(
            select(Generation.id, Generation.attempts, Generation.max_attempts, Generation.cancel_requested).where(
                Generation.status == RUNNING, Generation.lease_expires_at < now
            )
        ).all()
    reaped: list[ReapedJob] = []
    for generation_id, attempts, max_attempts, cancel_requested in expired:
        still_expired = and_(
            Generation.id == generation_id, Generation.status == RUNNING, Generation.lease_expires_at < now
        )
        if cancel_requested:
            values, action = dict(status=CANCELLED, stage=CANCELLED, finished_at=now), "cancelled"
        elif attempts < max_attempts:
            values = dict(
                status=QUEUED,
                stage=QUEUED,
                progress_step=0,
                error_code="worker_lost",
                error_reason=f"the worker running attempt {attempts} stopped responding; retrying (attempt {attempts + 1} of {max_attempts})",
            )
            action = "retried"
        else:
            values = dict(
                status=FAILED,
                stage=FAILED,
                finished_at=now,
                error_code="worker_lost",
                error_reason=f"the worker stopped responding (lease expired) on attempt {attempts} of {max_attempts}; giving up",
            )
            action = "failed"
        with db.session() as session:
            result = session.execute(
                update(Generation).where(still_expired).values(lease_owner=None, lease_expires_at=None, **values)
            )
        if rowcount(result) == 1:
            logger.warning("job %s: lease expired, %s", generation_id, action)
            if action == "retried":
                enqueue(generation_id)
            reaped.append(ReapedJob(generation_id, action))
    return reaped


class Heartbeat:
    """Renews a lease in the background; remembers cancellation requests and lease loss."""

    def __init__(self, db: Database, generation_id: str, worker_id: str, lease_seconds: float) -> None:
        self.db, self.generation_id, self.worker_id = db, generation_id, worker_id
        self.lease_seconds = lease_seconds
        self.cancel_requested = threading.Event()
        self.lease_lost = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"heartbeat-{generation_id[:8]}", daemon=True)

    def _beat(self) -> None:
        interval = max(self.lease_seconds / 3.0, 0.05)
        while not self._stop.wait(interval):
            try:
                if renew(self.db, self.generation_id, self.worker_id, self.lease_seconds):
                    self.cancel_requested.set()
            except LeaseLost:
                self.lease_lost.set()
                return
            except Exception:  # a database hiccup: try again next beat, the lease still has time
                logger.exception("heartbeat for %s failed", self.generation_id)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


class Reaper:
    """Runs reap_expired every interval, and slower housekeeping every hour, in a daemon thread."""

    def __init__(
        self, db: Database, enqueue: Callable[[str], None], interval: float, hourly: Callable[[], object] | None = None
    ) -> None:
        self.db, self.enqueue, self.interval, self.hourly = db, enqueue, interval, hourly
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="lease-reaper", daemon=True)

    def _loop(self) -> None:
        next_housekeeping = 0.0
        while not self._stop.wait(self.interval):
            try:
                reap_expired(self.db, self.enqueue)
            except Exception:
                logger.exception("reaping expired leases failed")
            if self.hourly is not None and time.monotonic() >= next_housekeeping:
                next_housekeeping = time.monotonic() + 3600
                try:
                    self.hourly()
                except Exception:
                    logger.exception("housekeeping failed")

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
