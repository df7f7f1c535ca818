"""/v1/admin/policy: the policy in force, and reloading it (admin)."""

from __future__ import annotations

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency, Provide

from service.api.common import (
    authenticated,
    blocking,
    json_response,
    provide_caller,
    runtime_of,
)
from service.auth import Caller


class PolicyController(Controller):
    path = "/v1/admin/policy"
    dependencies = {"caller": Provide(provide_caller)}
    guards = [authenticated]
    tags = ["safety"]

    @get("/", summary="The policy in force: version, categories, signals (admin)")
    async def show(self, request: Request, caller: NamedDependency[Caller]) -> Response:
        caller.require("admin")
        runtime = runtime_of(request)
        return json_response(await blocking(lambda: {**runtime.screening.health(), "summary": runtime.screening.screener.policy.summary()}))

    @post("/reload", status_code=200, summary="Reload the policy file now; a bad file is refused and the old policy stays")
    async def reload(self, request: Request, caller: NamedDependency[Caller]) -> Response:
        caller.require("admin")
        runtime = runtime_of(request)
        store = runtime.screening.screener.store
        policy = await blocking(store.reload)
        return json_response({"version": policy.version, "status": store.status()})
