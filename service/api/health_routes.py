"""/health (readiness and what is really active) and /metrics (Prometheus)."""

from __future__ import annotations

import re
from typing import Any

import msgspec
from litestar import Request, Response, get

from service import __version__
from service.api.common import blocking, presented_key, runtime_of
from service.api.openapi_bodies import media_response
from service.api_types import HealthReport
from service.auth import authenticate
from service.generations.records import status_counts
from service.metrics import render
from service.problems import Unauthorized

# an absolute path of two or more parts (POSIX or Windows), wherever it appears in a string
_PATH = re.compile(r"(?<![\w.\-])(?:[A-Za-z]:)?(?:[\\/][^\s\\/:'\"]+){2,}[\\/]?")


def public_view(value: Any) -> Any:
    """The report without what only an operator needs: file-system paths (storage, model
    directories, key files, error messages) and the count of clips generated here."""
    if isinstance(value, dict):
        return {key: public_view(item) for key, item in value.items() if key != "fingerprints"}
    if isinstance(value, list):
        return [public_view(item) for item in value]
    if isinstance(value, str):
        return _PATH.sub("<path>", value)
    return value


@get(
    "/health",
    summary="Readiness of database, queue and models; which backends and signals are active "
    "(paths and counts only with an admin key)",
    tags=["operations"],
)
async def health(request: Request) -> Response[HealthReport]:
    runtime = runtime_of(request)
    report = await blocking(runtime.health)
    report = {"service": "originframe", "version": __version__, **report}
    secret = presented_key(request)
    operator = False
    if secret:
        try:
            operator = (await blocking(authenticate, runtime.db, secret)).has("admin")
        except Unauthorized:
            operator = False
    shown = msgspec.convert(report if operator else public_view(report), HealthReport)
    return Response(shown, status_code=200 if shown.ready else 503)


@get(
    "/metrics",
    summary="Prometheus metrics",
    tags=["operations"],
    include_in_schema=True,
    media_type="text/plain",
    responses=media_response("text/plain", "Prometheus text exposition format", str),
)
async def metrics(request: Request) -> Response:
    runtime = runtime_of(request)

    def collect() -> tuple[bytes, str]:
        with runtime.db.session() as session:
            counts = status_counts(session)
        try:
            pending = runtime.queue.pending_count()
        except Exception:
            pending = None
        return render(counts, pending, runtime.fleet_capacity())

    body, content_type = await blocking(collect)
    return Response(content=body, media_type=content_type)
