"""The Litestar application: a thin shell over the runtime."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from litestar import Litestar
from litestar.datastructures import State
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin, YamlRenderPlugin
from litestar.plugins.prometheus import PrometheusConfig

from service import __version__
from service.api.audit_routes import AuditController
from service.api.bodies import BoundedRequest
from service.api.generation_routes import GenerationController
from service.api.health_routes import health, metrics
from service.api.key_routes import KeyController
from service.api.limits import (
    FailedAuthThrottle,
    StreamSlots,
    close_stores,
    rate_limit_middleware,
    rate_limit_stores,
)
from service.api.policy_routes import PolicyController
from service.api.problem_details import exception_handlers
from service.api.review_routes import ReviewController
from service.api.screening_routes import ScreeningController
from service.api.verify_routes import verify
from service.runtime import Runtime
from service.settings import Settings, load_settings
from service.web import web_router

# headroom over the largest file: multipart framing and the form fields around it
_BODY_OVERHEAD = 64 * 1024


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> Litestar:
    settings = settings or (runtime.settings if runtime else load_settings())

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        active = runtime or Runtime(settings)
        app.state.runtime = active
        await anyio.to_thread.run_sync(lambda: active.start(consume=settings.embedded_worker))
        try:
            yield
        finally:
            await anyio.to_thread.run_sync(active.stop)
            await close_stores(stores)

    limits = rate_limit_middleware(settings)
    stores = rate_limit_stores(settings)
    prometheus = PrometheusConfig(app_name="originframe", group_path=True, exclude=["/metrics", "/health"])
    return Litestar(
        route_handlers=[
            GenerationController,
            ScreeningController,
            ReviewController,
            AuditController,
            PolicyController,
            KeyController,
            verify,
            health,
            metrics,
            web_router,
        ],
        lifespan=[lifespan],
        exception_handlers=exception_handlers(),
        middleware=[prometheus.middleware, *limits],
        stores=stores,
        state=State(
            {
                "auth_throttle": FailedAuthThrottle("auth_failures", settings.rate_limit_auth_failures_per_minute),
                "event_streams": StreamSlots(settings.max_event_streams_per_key),
            }
        ),
        request_class=BoundedRequest,
        request_max_body_size=settings.max_upload_bytes + _BODY_OVERHEAD,
        # the document only (JSON and YAML): Litestar's HTML viewers load their scripts from a CDN
        openapi_config=OpenAPIConfig(
            title="Originframe",
            version=__version__,
            path="/schema",
            render_plugins=[JsonRenderPlugin(), YamlRenderPlugin()],
        ),
        logging_config=None,
        debug=False,
    )
