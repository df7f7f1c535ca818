"""/health (readiness and what is really active) and /metrics (Prometheus)."""

from __future__ import annotations

from litestar import Request, Response, get

from service import __version__, generations
from service.api.common import blocking, json_response, runtime_of
from service.metrics import render


@get("/health", summary="Readiness of database, queue and models; which backends and signals are active", tags=["operations"])
async def health(request: Request) -> Response:
    report = await blocking(runtime_of(request).health)
    report = {"service": "originframe", "version": __version__, **report}
    return json_response(report, status_code=200 if report["ready"] else 503)


@get("/metrics", summary="Prometheus metrics", tags=["operations"], include_in_schema=True)
async def metrics(request: Request) -> Response:
    runtime = runtime_of(request)

    def collect() -> tuple[bytes, str]:
        with runtime.db.session() as session:
            counts = generations.status_counts(session)
        try:
            pending = runtime.queue.pending_count()
        except Exception:
            pending = None
        return render(counts, pending, runtime.fleet_capacity())

    body, content_type = await blocking(collect)
    return Response(content=body, media_type=content_type)
