"""The registry of live workers: which models the fleet can run right now.

Each consuming process (an `originframe worker`, or the consumer embedded in `originframe
serve`) has one row in `workers`: id, host, models, device, when it started, when it was last
seen, jobs done. A worker registers as `starting`, loads its models (warm-up), and only then
becomes `ready`; only ready workers seen within worker_ttl_s count as serving a model. A clean
exit deletes the row (`deregister`, called from the worker's `finally`); a killed worker's row
stops being seen, stops counting after worker_ttl_s and is purged after ten times that.
"""

from __future__ import annotations

import enum
import logging
import os
import socket
import threading
from collections.abc import Collection
from datetime import datetime, timedelta

import msgspec
from sqlalchemy import delete, select, update

from service.db import Database, Worker, rowcount, utcnow
from service.generations.status import GenerationStatus

logger = logging.getLogger("originframe.registry")

_PURGE_AFTER_TTLS = 10


class WorkerState(enum.Enum):
    STARTING = "starting"  # registered, still loading its models: not yet counted as serving them
    READY = "ready"


class WorkerView(msgspec.Struct, frozen=True):
    id: str
    host: str
    pid: int
    models: list[str]
    device: str
    dtype: str
    state: str
    started_at: datetime
    ready_at: datetime | None
    last_seen_at: datetime
    seconds_since_seen: float
    jobs_done: int
    jobs_failed: int


class ModelCapacity(msgspec.Struct, frozen=True):
    """What an autoscaler needs per model: jobs waiting and live workers that serve it."""

    model: str
    queued: int
    live_workers: int
    starting_workers: int


def waiting_reason(model: str) -> str:
    return f"waiting for a worker that serves {model}"


class WorkerRegistration:
    """This process's row: register, heartbeat in a daemon thread, count jobs, deregister."""

    def __init__(
        self,
        db: Database,
        worker_id: str,
        models: Collection[str],
        *,
        device: str,
        dtype: str,
        heartbeat_s: float,
        ttl_s: float,
    ) -> None:
        self.db, self.worker_id, self.models = db, worker_id, sorted(models)
        self.device, self.dtype = device, dtype
        self.heartbeat_s, self.ttl_s = heartbeat_s, ttl_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def register(self) -> None:
        """Announce the worker as starting (visible in /health while it warms up)."""
        now = utcnow()
        with self.db.session() as session:
            session.execute(delete(Worker).where(Worker.id == self.worker_id))
            session.add(
                Worker(
                    id=self.worker_id,
                    host=socket.gethostname(),
                    pid=os.getpid(),
                    models=self.models,
                    device=self.device,
                    dtype=self.dtype,
                    state=WorkerState.STARTING.value,
                    started_at=now,
                    last_seen_at=now,
                    jobs_done=0,
                    jobs_failed=0,
                )
            )
        self._stop.clear()
        self._thread = threading.Thread(target=self._beat, name="worker-registry", daemon=True)
        self._thread.start()

    def mark_ready(self) -> None:
        """After warm-up: from now on the worker counts as serving its models."""
        now = utcnow()
        with self.db.session() as session:
            session.execute(
                update(Worker)
                .where(Worker.id == self.worker_id)
                .values(state=WorkerState.READY.value, ready_at=now, last_seen_at=now)
            )

    def job_finished(self, succeeded: bool) -> None:
        column = Worker.jobs_done if succeeded else Worker.jobs_failed
        try:
            with self.db.session() as session:
                session.execute(
                    update(Worker)
                    .where(Worker.id == self.worker_id)
                    .values({column.key: column + 1, "last_seen_at": utcnow()})
                )
        except Exception:  # bookkeeping must never fail a job that already finished
            logger.exception("could not count a finished job in the worker registry")

    def deregister(self) -> None:
        """A clean exit: the row goes at once, so the fleet stops counting this worker now."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        try:
            with self.db.session() as session:
                session.execute(delete(Worker).where(Worker.id == self.worker_id))
        except Exception:  # the database is gone too: the row ages out after worker_ttl_s
            logger.exception("could not deregister worker %s", self.worker_id)

    def _beat(self) -> None:
        while not self._stop.wait(self.heartbeat_s):
            try:
                now = utcnow()
                with self.db.session() as session:
                    seen = session.execute(update(Worker).where(Worker.id == self.worker_id).values(last_seen_at=now))
                    session.execute(
                        delete(Worker).where(
                            Worker.last_seen_at < now - timedelta(seconds=self.ttl_s * _PURGE_AFTER_TTLS)
                        )
                    )
                if rowcount(seen) == 0:  # purged while this process was paused (or the row was lost): come back
                    logger.warning("worker %s was missing from the registry; registering again", self.worker_id)
                    self._restore(now)
            except Exception:  # a database hiccup: the next beat tries again
                logger.exception("worker registry heartbeat failed")

    def _restore(self, now: datetime) -> None:
        with self.db.session() as session:
            session.add(
                Worker(
                    id=self.worker_id,
                    host=socket.gethostname(),
                    pid=os.getpid(),
                    models=self.models,
                    device=self.device,
                    dtype=self.dtype,
                    state=WorkerState.READY.value,
                    started_at=now,
                    ready_at=now,
                    last_seen_at=now,
                    jobs_done=0,
                    jobs_failed=0,
                )
            )


def list_workers(db: Database, ttl_s: float) -> list[WorkerView]:
    """Workers seen within ttl_s, oldest first."""
    now = utcnow()
    with db.session() as session:
        rows = session.scalars(
            select(Worker).where(Worker.last_seen_at >= now - timedelta(seconds=ttl_s)).order_by(Worker.started_at)
        ).all()
    return [
        WorkerView(
            id=row.id,
            host=row.host,
            pid=row.pid,
            models=list(row.models),
            device=row.device,
            dtype=row.dtype,
            state=row.state,
            started_at=row.started_at,
            ready_at=row.ready_at,
            last_seen_at=row.last_seen_at,
            seconds_since_seen=round((now - row.last_seen_at).total_seconds(), 1),
            jobs_done=row.jobs_done,
            jobs_failed=row.jobs_failed,
        )
        for row in rows
    ]


def served_models(workers: list[WorkerView]) -> set[str]:
    return {model for worker in workers if worker.state == WorkerState.READY.value for model in worker.models}


def capacity(models: Collection[str], queued: dict[str, int], workers: list[WorkerView]) -> list[ModelCapacity]:
    return [
        ModelCapacity(
            model=model,
            queued=queued.get(model, 0),
            live_workers=sum(1 for w in workers if model in w.models and w.state == WorkerState.READY.value),
            starting_workers=sum(1 for w in workers if model in w.models and w.state == WorkerState.STARTING.value),
        )
        for model in models
    ]


def queued_by_model(db: Database) -> dict[str, int]:
    """Jobs waiting per model, from the database (the source of truth; the queue may hold duplicates)."""
    from sqlalchemy import func

    from service.db import Generation

    with db.session() as session:
        rows = session.execute(
            select(Generation.model, func.count())
            .where(Generation.status == GenerationStatus.QUEUED)
            .group_by(Generation.model)
        ).all()
    return {model: int(count) for model, count in rows}


def waiting_for(db: Database, model: str, ttl_s: float) -> str | None:
    """Why a queued job of this model is not running yet, when no live, ready worker serves it."""
    if model in served_models(list_workers(db, ttl_s)):
        return None
    return waiting_reason(model)
