"""Runs one queued job to a final state. Nothing a job does may crash the worker."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Collection
from typing import Any

from sqlalchemy.orm import Session

from service.backends import GenerationCancelled
from service.db import Database, Generation
from service.generations.status import Progress
from service.jobs import leases
from service.jobs.leases import (
    CANCELLED,
    FAILED,
    REVIEW,
    SUCCEEDED,
    Heartbeat,
    LeaseLost,
)
from service.metrics import JOB_OUTCOMES, JOB_SECONDS
from service.pipeline.flow import GenerationPipeline, OutputRefused
from service.pipeline.spec import JobSpec

logger = logging.getLogger("originframe.worker")

# progress is written at most this often; the events stream polls the database
_PROGRESS_INTERVAL_S = 0.25


class WorkerStopping(Exception):
    """The worker is shutting down; the job goes back to the queue."""


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class _Reporter:
    def __init__(
        self, db: Database, generation_id: str, worker_id: str, heartbeat: Heartbeat, stopping: threading.Event
    ) -> None:
        self.db, self.generation_id, self.worker_id = db, generation_id, worker_id
        self.heartbeat, self.stopping = heartbeat, stopping
        self._last_write = 0.0

    def checkpoint(self) -> None:
        if self.heartbeat.lease_lost.is_set():
            raise LeaseLost(self.generation_id)
        if self.heartbeat.cancel_requested.is_set():
            raise GenerationCancelled(self.generation_id)
        if self.stopping.is_set():
            raise WorkerStopping(self.generation_id)

    def stage(self, name: str) -> None:
        self.checkpoint()
        leases.update_owned(self.db, self.generation_id, self.worker_id, stage=name)

    def progress(self, step: int, total: int) -> None:
        now = time.monotonic()
        if step >= total or now - self._last_write >= _PROGRESS_INTERVAL_S:
            self._last_write = now
            leases.update_owned(self.db, self.generation_id, self.worker_id, progress_step=step, progress_total=total)
        self.checkpoint()


class JobRunner:
    def __init__(
        self,
        db: Database,
        pipeline: GenerationPipeline,
        load_spec: Callable[[Session, Generation], JobSpec],
        *,
        lease_seconds: float,
        requeue: Callable[[str], None],
        worker_id: str | None = None,
        models: Collection[str] | None = None,
    ) -> None:
        self.db = db
        self.pipeline = pipeline
        self.load_spec = load_spec  # (session, Generation) -> JobSpec
        self.lease_seconds = lease_seconds
        self.requeue = requeue
        self.worker_id = worker_id or new_worker_id()
        self.models = models  # None: any model (the in-process `originframe generate`)
        self.stopping = threading.Event()

    def run(self, generation_id: str) -> str | None:
        """Run a job if it is still queued; returns its final status (None if not claimed)."""
        if not leases.claim(self.db, generation_id, self.worker_id, self.lease_seconds, self.models):
            return None
        started = time.perf_counter()
        status: str = FAILED
        with Heartbeat(self.db, generation_id, self.worker_id, self.lease_seconds) as heartbeat:
            reporter = _Reporter(self.db, generation_id, self.worker_id, heartbeat, self.stopping)
            try:
                with self.db.session() as session:
                    generation = session.get(Generation, generation_id)
                    if generation is None:
                        raise LookupError(f"generation {generation_id} vanished after its claim")
                    spec = self.load_spec(session, generation)
                outcome = self.pipeline.run(spec, reporter)
                outcome.timings["worker_s"] = round(time.perf_counter() - started, 4)
                # an output held for a human: stored, but not released until a reviewer approves it
                status = REVIEW if outcome.columns.held_by_decision_id else SUCCEEDED
                leases.finish(
                    self.db,
                    generation_id,
                    self.worker_id,
                    status,
                    stage=Progress.DONE if status == SUCCEEDED else Progress.HELD_FOR_REVIEW,
                    video_key=outcome.video_key,
                    video_sha256=outcome.video_sha256,
                    video_bytes=outcome.video_bytes,
                    output=outcome.output,
                    stages=outcome.stages,
                    timings=outcome.timings,
                    worker_seconds=outcome.timings["worker_s"],
                    **outcome.columns.values(),
                )
            except GenerationCancelled:
                status = self._finish(generation_id, CANCELLED, "cancelled", "cancelled by the client")
            except WorkerStopping:
                status = "requeued"
                if leases.release(
                    self.db, generation_id, self.worker_id, "the worker shut down; the job was re-queued"
                ):
                    self.requeue(generation_id)
            except LeaseLost:
                status = "lease_lost"
                logger.warning("job %s: lease lost; another worker owns it now", generation_id)
            except OutputRefused as refused:
                status = self._finish(
                    generation_id,
                    refused.status,
                    refused.code,
                    refused.reason,
                    stages=refused.stages,
                    timings=refused.timings,
                    **refused.columns.values(),
                )
            except Exception as error:  # any failure becomes the job's reason, never the worker's crash
                logger.exception("job %s failed", generation_id)
                status = self._finish(
                    generation_id, FAILED, type(error).__name__, f"{type(error).__name__}: {error}"[:2000]
                )
        JOB_OUTCOMES.labels(status=status).inc()
        JOB_SECONDS.observe(time.perf_counter() - started)
        return status

    def _finish(self, generation_id: str, status: str, code: str, reason: str, **values: Any) -> str:
        try:
            leases.finish(
                self.db,
                generation_id,
                self.worker_id,
                status,
                stage=status,
                error_code=code,
                error_reason=reason,
                **values,
            )
        except LeaseLost:
            return "lease_lost"
        return status
