"""Request rate limits: per API key (or per client address without one), per route class,
answered 429 with Retry-After; failed authentication throttled per address; open progress
streams bounded per key.

Counting is Litestar's RateLimitMiddleware over Litestar stores: in-process (MemoryStore) on
one box, Redis (RedisStore) in a fleet so every API process shares one count. The subclass only
changes how a refusal is answered (our problem body, with Retry-After).
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from time import time
from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.datastructures import MutableScopeHeaders
from litestar.middleware.base import DefineMiddleware
from litestar.middleware.rate_limit import RateLimitConfig, RateLimitMiddleware
from litestar.serialization import decode_json, encode_json
from litestar.stores.base import Store
from litestar.stores.memory import MemoryStore
from litestar.types import Message, Receive, Scope, Send

from service.digests import sha256_text
from service.problems import RateLimited
from service.settings import Settings


class RouteClass(enum.Enum):
    """Requests that cost alike share a limit."""

    GENERATE = "generate"  # POST /v1/generations: a GPU job each
    VERIFY = "verify"  # POST /v1/verify: decoding, up to a few hundred MB each
    API = "api"  # every other /v1 request: a database read or a small write


def route_class(request: Request) -> RouteClass | None:
    path, method = request.url.path.rstrip("/"), request.method
    if not path.startswith("/v1/"):
        return None  # health, metrics, schema and the web pages' static files
    if method == "POST" and path == "/v1/generations":
        return RouteClass.GENERATE
    if method == "POST" and path == "/v1/verify":
        return RouteClass.VERIFY
    return RouteClass.API


def _presented_secret(connection: ASGIConnection) -> str | None:
    header = connection.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return connection.headers.get("x-api-key") or None


def client_address(connection: ASGIConnection) -> str:
    return connection.client.host if connection.client else "unknown"


def caller_identity(request: Request) -> str:
    """The presented key (hashed: a wrong secret is its own bucket, so nobody can spend another
    key's allowance by naming its id), or the client address for requests without a key."""
    secret = _presented_secret(request)
    if secret:
        return "key:" + sha256_text(secret)[:24]
    return "addr:" + client_address(request)


class _Limit(RateLimitMiddleware):
    """Litestar's counter; a refusal is our 429 problem with Retry-After."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        app = scope["litestar_app"]
        request: Request = app.request_class(scope)
        if not await self.should_check_request(request=request):
            await self.app(scope, receive, send)
            return
        store = self.config.get_store_from_app(app)
        key = self.cache_key_from_request(request)
        async with self._lock:
            history = await self.retrieve_cached_history(key, store)
            if len(history.history) >= self.max_requests:
                wait = max(1, history.reset - int(time()))
                limited = self.config.route_class.value  # type: ignore[attr-defined]
                raise RateLimited(
                    f"more than {self.max_requests} '{limited}' requests per {self.unit}; retry in {wait} s",
                    retry_after_s=wait,
                    limit=self.max_requests,
                    route_class=limited,
                    window=self.unit,
                )
            await self.set_cached_history(key=key, cache_object=history, store=store)
        headers = self.create_response_headers(cache_object=history)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                mutable = MutableScopeHeaders(message)
                for name, value in headers.items():
                    mutable[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)


@dataclass
class _ClassConfig(RateLimitConfig):
    route_class: RouteClass = RouteClass.API


def rate_limit_middleware(settings: Settings) -> list[DefineMiddleware]:
    """One middleware per route class with a non-zero limit (requests per minute)."""
    limits = {
        RouteClass.GENERATE: settings.rate_limit_generate_per_minute,
        RouteClass.VERIFY: settings.rate_limit_verify_per_minute,
        RouteClass.API: settings.rate_limit_api_per_minute,
    }
    middleware = []
    for kind, per_minute in limits.items():
        if per_minute <= 0:
            continue

        def applies(request: Request, kind: RouteClass = kind) -> bool:
            return route_class(request) is kind

        config = _ClassConfig(
            rate_limit=("minute", per_minute),
            identifier_for_request=caller_identity,
            check_throttle_handler=applies,
            middleware_class=_Limit,
            store=f"rate_limit_{kind.value}",
            route_class=kind,
        )
        middleware.append(config.middleware)
    return middleware


def rate_limit_stores(settings: Settings) -> dict[str, Store]:
    """Where counts live: one Redis for the fleet (rate_limit_url, or the queue's Redis), else this process."""
    url = settings.rate_limit_url or (
        settings.queue_url if settings.queue_url.startswith(("redis://", "rediss://")) else ""
    )
    names = [f"rate_limit_{kind.value}" for kind in RouteClass] + ["auth_failures"]
    if not url:
        return {name: MemoryStore() for name in names}
    from litestar.stores.redis import RedisStore

    root = RedisStore.with_client(url=url, namespace=f"originframe:{settings.queue_name}:limits")
    return {name: root.with_namespace(name) for name in names}


async def close_stores(stores: dict[str, Store]) -> None:
    """Close the Redis connection the stores share (once: they are namespaces of one client)."""
    from litestar.stores.redis import RedisStore

    by_client = {id(store._redis): store for store in stores.values() if isinstance(store, RedisStore)}
    for store in by_client.values():
        await store._shutdown()


class FailedAuthThrottle:
    """Counts failed authentications per client address in a store; past the limit, the address
    is answered 429 before its key is even looked up."""

    def __init__(self, store_name: str, per_minute: int) -> None:
        self.store_name = store_name
        self.per_minute = per_minute

    def _store(self, connection: ASGIConnection) -> Store:
        return connection.app.stores.get(self.store_name)

    async def check(self, connection: ASGIConnection) -> None:
        if self.per_minute <= 0:
            return
        raw = await self._store(connection).get(client_address(connection))
        if raw:
            state = decode_json(raw)
            if state["count"] >= self.per_minute and state["reset"] > time():
                wait = max(1, int(state["reset"] - time()))
                raise RateLimited(
                    f"too many failed authentications from this address; retry in {wait} s",
                    retry_after_s=wait,
                    route_class="auth",
                )

    async def failed(self, connection: ASGIConnection) -> None:
        if self.per_minute <= 0:
            return
        store, address = self._store(connection), client_address(connection)
        raw = await store.get(address)
        state = decode_json(raw) if raw else None
        if state is None or state["reset"] <= time():
            state = {"count": 0, "reset": time() + 60}
        state["count"] += 1
        await store.set(address, encode_json(state), expires_in=max(1, int(state["reset"] - time()) + 1))


class StreamSlots:
    """Open progress streams per API key, in this process (a stream holds a connection and polls)."""

    def __init__(self, per_key: int) -> None:
        self.per_key = per_key
        self._open: dict[str, int] = {}
        self._lock = threading.Lock()

    @contextmanager
    def hold(self, key_id: str) -> Iterator[None]:
        with self._lock:
            if self.per_key > 0 and self._open.get(key_id, 0) >= self.per_key:
                raise RateLimited(
                    f"this API key already has {self.per_key} progress streams open; close one "
                    "or poll GET /v1/generations/{id}",
                    retry_after_s=5,
                    route_class="events",
                )
            self._open[key_id] = self._open.get(key_id, 0) + 1
        try:
            yield
        finally:
            with self._lock:
                self._open[key_id] -= 1
                if not self._open[key_id]:
                    del self._open[key_id]


__all__: list[Any] = [
    "FailedAuthThrottle",
    "RouteClass",
    "StreamSlots",
    "close_stores",
    "rate_limit_middleware",
    "rate_limit_stores",
    "route_class",
]
