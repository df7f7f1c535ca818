"""What every controller needs: the runtime, the caller, and a way to run blocking work."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import anyio
from litestar import Request, Response
from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler

from service.auth import Caller, authenticate
from service.problems import Unauthorized
from service.runtime import Runtime

T = TypeVar("T")


def runtime_of(request: ASGIConnection) -> Runtime:
    return request.app.state.runtime


async def blocking(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Database, decoding and model work run in a worker thread, never on the event loop."""
    return await anyio.to_thread.run_sync(functools.partial(function, *args, **kwargs))


def presented_key(request: ASGIConnection) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.headers.get("x-api-key")


async def authenticate_connection(connection: ASGIConnection) -> Caller:
    """The caller behind the presented key; an address with too many failures is answered 429
    before its key is looked up."""
    throttle = connection.app.state.auth_throttle
    await throttle.check(connection)
    try:
        return await blocking(authenticate, runtime_of(connection).db, presented_key(connection))
    except Unauthorized:
        await throttle.failed(connection)
        raise


async def authenticated(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    """Guard: the key is checked before Litestar reads or decodes the body, so an anonymous
    caller cannot make the server parse (or log) anything it sends."""
    connection.state.caller = await authenticate_connection(connection)


async def provide_caller(request: Request) -> Caller:
    caller = request.state.get("caller")
    if caller is None:  # a route without the guard
        caller = request.state.caller = await authenticate_connection(request)
    return caller


def base_url(request: Request) -> str:
    return runtime_of(request).settings.public_base_url.rstrip("/")


def json_response(content: Any, status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(content=content, status_code=status_code, headers=headers, media_type="application/json")
