"""The task queue (Huey): SQLite file by default, Redis or PostgreSQL for a fleet.

Huey only carries job ids from the API to workers; job state lives in the SQL database
(see leases.py), so a message that is delivered twice or lost is harmless: claims are
compare-and-set, and recover_queued() re-sends ids the queue no longer holds.

Routing: one Huey queue per model (`<queue_name>.<model>`). A worker consumes only the queues of
the models it serves (ORIGINFRAME_WORKER_MODELS), through one consumer whose storage takes from
those queues in turn, so an SVD-XT worker never dequeues an LTX job, and worker_threads still
bounds how many jobs one process runs at once. The claim (leases.claim) checks the model again.
"""

from __future__ import annotations

import logging
import signal
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING

from huey import Huey, PostgresHuey, RedisHuey, SqliteHuey
from huey.consumer import Consumer
from huey.storage import BaseStorage
from sqlalchemy import select

from service.db import Database, Generation, utcnow
from service.generations.status import GenerationStatus

if TYPE_CHECKING:
    from service.settings import Settings


logger = logging.getLogger("originframe.queue")

TASK_NAME = "originframe.run_generation"


def queue_name_for(settings: Settings, model: str) -> str:
    return f"{settings.queue_name}.{model}"


def build_huey(settings: Settings, name: str | None = None) -> Huey:
    url = settings.queue_url
    name = name or settings.queue_name
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisHuey(name, url=url, results=False)
    if url.startswith(("postgresql://", "postgres://")):
        return PostgresHuey(name, dsn=url, results=False)
    if url:
        raise ValueError(
            f"ORIGINFRAME_QUEUE_URL={url!r}: use redis://..., postgresql://... or leave it empty for SQLite"
        )
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return SqliteHuey(name, filename=str(settings.data_dir / "queue.db"), results=False)


def describe(settings: Settings) -> str:
    url = settings.queue_url
    if not url:
        return "huey-sqlite"
    return "huey-redis" if url.startswith(("redis", "unix")) else "huey-postgres"


class JobQueue:
    """Enqueue job ids on their model's queue; the handler runs where a consumer runs (in-process or
    `originframe worker`), and a consumer takes only from the queues of the models it serves."""

    def __init__(
        self,
        settings: Settings,
        handler: Callable[[str], None],
        model_of: Callable[[str], str | None] | None = None,
        served: list[str] | None = None,
    ) -> None:
        self.settings = settings
        self.kind = describe(settings)
        self.model_of = model_of  # looks a job's model up when a caller re-sends only its id
        self.queues: dict[str, Huey] = {
            model: build_huey(settings, queue_name_for(settings, model)) for model in settings.models
        }
        self._senders = {model: huey.task(name=TASK_NAME, retries=0)(handler) for model, huey in self.queues.items()}
        self.served = [model for model in (served if served is not None else settings.models) if model in self.queues]
        # the Huey this process consumes from: every served model's queue, taken in turn
        self.huey = _RoutedHuey(settings.queue_name, [self.queues[model] for model in self.served])
        self.huey.task(name=TASK_NAME, retries=0)(handler)

    def enqueue(self, generation_id: str, model: str | None = None) -> None:
        model = model or (self.model_of(generation_id) if self.model_of else None)
        if model not in self._senders:
            raise ValueError(f"job {generation_id}: model {model!r} has no queue on this deployment")
        self._senders[model](generation_id)

    def pending_ids(self) -> set[str]:
        return {
            task.args[0]
            for huey in self.queues.values()
            for task in huey.pending()
            if task.name == TASK_NAME and task.args
        }

    def pending_by_model(self) -> dict[str, int]:
        return {model: huey.pending_count() for model, huey in self.queues.items()}

    def pending_count(self) -> int:
        return sum(self.pending_by_model().values())

    def ping(self) -> None:
        self.pending_count()

    def consumer(
        self, threads: int, *, embedded: bool, on_stop: Callable[[], None] | None = None, grace_s: float | None = None
    ) -> Consumer:
        options = dict(
            workers=threads,
            worker_type="thread",
            periodic=False,
            initial_delay=0.05,
            backoff=1.5,
            max_delay=1.0,
            check_worker_health=True,
        )
        if embedded:
            return _EmbeddedConsumer(self.huey, **options)
        return _WorkerConsumer(self.huey, on_stop=on_stop or (lambda: None), shutdown_timeout=grace_s, **options)

    def flush(self) -> None:
        for huey in self.queues.values():
            huey.flush()


class _RoutedStorage:
    """Dequeues from several queues in turn (fair between models); everything else a consumer needs
    (its schedule, locks and revocation flags) is the first queue's storage's."""

    def __init__(self, name: str, storages: list[BaseStorage]) -> None:
        self.name = name
        self._storages = storages
        self._next = 0

    def dequeue(self) -> bytes | None:
        for offset in range(len(self._storages)):
            index = (self._next + offset) % len(self._storages)
            data = self._storages[index].dequeue()
            if data is not None:
                self._next = (index + 1) % len(self._storages)
                return data
        return None

    def queue_size(self) -> int:
        return sum(storage.queue_size() for storage in self._storages)

    def enqueued_items(self, limit=None) -> list:
        return [item for storage in self._storages for item in storage.enqueued_items(limit)]

    def flush_queue(self) -> None:
        for storage in self._storages:
            storage.flush_queue()

    def __getattr__(self, name: str):
        if not self._storages:
            raise RuntimeError("this process serves no model: it has no queue to consume")
        return getattr(self._storages[0], name)


class _RoutedHuey(Huey):
    def __init__(self, name: str, queues: list[Huey]) -> None:
        self._routed = [huey.storage for huey in queues]
        super().__init__(name, results=False)

    def create_storage(self) -> _RoutedStorage:
        return _RoutedStorage(self.name, self._routed)


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
                select(Generation.id).where(
                    Generation.status == GenerationStatus.QUEUED, Generation.created_at <= cutoff
                )
            )
        )
    if not queued:
        return []
    missing = sorted(queued - queue.pending_ids())
    for generation_id in missing:
        logger.warning("job %s was queued in the database but not in the queue; re-sending", generation_id)
        try:
            queue.enqueue(generation_id)
        except ValueError as error:  # a model this deployment no longer offers: say so, keep going
            logger.error("%s", error)
    return missing
