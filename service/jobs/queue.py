"""The task queue (Huey): SQLite file by default, Redis or PostgreSQL for a fleet.

Huey only carries job ids from the API to workers; job state lives in the SQL database
(see leases.py), so a message that is delivered twice or lost is harmless: claims are
compare-and-set, and recover_queued() re-sends ids the queue no longer holds.
"""

from __future__ import annotations

import logging
import signal
from datetime import timedelta
from typing import Callable

from huey import Huey, PostgresHuey, RedisHuey, SqliteHuey
from huey.consumer import Consumer
from sqlalchemy import select

from service.db import Database, Generation, utcnow

logger = logging.getLogger("originframe.queue")

TASK_NAME = "originframe.run_generation"


def build_huey(settings) -> Huey:
    url = settings.queue_url
    name = settings.queue_name
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisHuey(name, url=url, results=False)
    if url.startswith(("postgresql://", "postgres://")):
        return PostgresHuey(name, dsn=url, results=False)
    if url:
        raise ValueError(f"ORIGINFRAME_QUEUE_URL={url!r}: use redis://..., postgresql://... or leave it empty for SQLite")
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return SqliteHuey(name, filename=str(settings.data_dir / "queue.db"), results=False)


def describe(settings) -> str:
    url = settings.queue_url
    if not url:
        return "huey-sqlite"
    return "huey-redis" if url.startswith(("redis", "unix")) else "huey-postgres"


class JobQueue:
    """Enqueue job ids; the handler runs where a consumer runs (in-process or `originframe worker`)."""

    def __init__(self, settings, handler: Callable[[str], None]) -> None:
        self.settings = settings
        self.huey = build_huey(settings)
        self.kind = describe(settings)
        self._task = self.huey.task(name=TASK_NAME, retries=0)(handler)

    def enqueue(self, generation_id: str) -> None:
        self._task(generation_id)

    def pending_ids(self) -> set[str]:
        return {task.args[0] for task in self.huey.pending() if task.name == TASK_NAME and task.args}

    def pending_count(self) -> int:
        return self.huey.pending_count()

    def ping(self) -> None:
        self.huey.pending_count()

    def consumer(self, threads: int, *, embedded: bool, on_stop: Callable[[], None] | None = None,
                 grace_s: float | None = None) -> Consumer:
        options = dict(workers=threads, worker_type="thread", periodic=False, initial_delay=0.05, backoff=1.5,
                       max_delay=1.0, check_worker_health=True)
        if embedded:
            return _EmbeddedConsumer(self.huey, **options)
        return _WorkerConsumer(self.huey, on_stop=on_stop or (lambda: None), shutdown_timeout=grace_s, **options)

    def flush(self) -> None:
        self.huey.flush()


class _WorkerConsumer(Consumer):
    """`originframe worker`: SIGTERM (what orchestrators send on a rolling deploy) and SIGINT stop
    it gracefully. It stops taking jobs, `on_stop` tells the running job to hand itself back at its
    next step (re-queued, the attempt not spent), the job threads are joined (up to the grace
    period) and the process exits 0. Huey's default (SIGTERM interrupts the threads mid-job)
    aborted the process and left the job running until its lease ran out, an attempt spent."""

    def __init__(self, huey: Huey, *, on_stop: Callable[[], None], **options) -> None:
        super().__init__(huey, graceful_signal="TERM", **options)
        self._signal_actions[signal.SIGINT] = (False, True)
        self._on_stop = on_stop

    def _handle_signal(self, signum, frame) -> None:
        super()._handle_signal(signum, frame)
        if not self._restart:
            self._on_stop()


class _EmbeddedConsumer(Consumer):
    """A consumer inside the web server: it must leave the server's signal handlers alone."""

    def _set_signal_handlers(self) -> None:
        pass


def recover_queued(db: Database, queue: JobQueue, older_than_s: float = 0.0) -> list[str]:
    """Re-send queued jobs the queue does not hold (lost before enqueue, or a flushed queue)."""
    cutoff = utcnow() - timedelta(seconds=older_than_s)
    with db.session() as session:
        queued = set(
            session.scalars(
                select(Generation.id).where(Generation.status == "queued", Generation.created_at <= cutoff)
            )
        )
    if not queued:
        return []
    missing = sorted(queued - queue.pending_ids())
    for generation_id in missing:
        logger.warning("job %s was queued in the database but not in the queue; re-sending", generation_id)
        queue.enqueue(generation_id)
    return missing
