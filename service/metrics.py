"""Prometheus metrics. Job counters are per process; queue and status gauges are read from
the database and the queue at scrape time, so they are right for the whole fleet."""

from __future__ import annotations

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from service.generations.status import GenerationStatus

JOB_OUTCOMES = Counter("originframe_jobs_finished_total", "Jobs this process finished, by outcome", ["status"])
JOB_SECONDS = Histogram(
    "originframe_job_seconds",
    "Wall time of jobs run by this process",
    buckets=(0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800),
)

GENERATIONS = Gauge("originframe_generations", "Generations in the database, by status", ["status"])
QUEUE_PENDING = Gauge("originframe_queue_pending", "Job messages waiting in the task queue")
SCREENINGS = Counter("originframe_screenings_total", "Screening decisions made by this process", ["kind", "decision"])
VERIFICATIONS = Counter("originframe_verifications_total", "Verifications run by this process", ["verdict"])
# what an autoscaler needs, per model: work waiting, and workers (ready or still warming up) to run it
QUEUE_DEPTH = Gauge("originframe_queue_depth", "Queued generations per model (database)", ["model"])
WORKERS_LIVE = Gauge(
    "originframe_workers_live", "Live workers serving a model, by state (ready, starting)", ["model", "state"]
)

_STATUSES = tuple(GenerationStatus)


def render(
    status_counts: dict[str, int], queue_pending: int | None, per_model: list | None = None
) -> tuple[bytes, str]:
    for status in _STATUSES:
        GENERATIONS.labels(status=status).set(status_counts.get(status, 0))
    if queue_pending is not None:
        QUEUE_PENDING.set(queue_pending)
    for model in per_model or []:  # registry.ModelCapacity
        QUEUE_DEPTH.labels(model=model.model).set(model.queued)
        WORKERS_LIVE.labels(model=model.model, state="ready").set(model.live_workers)
        WORKERS_LIVE.labels(model=model.model, state="starting").set(model.starting_workers)
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
