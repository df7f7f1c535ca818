"""/v1/admin/policy: the policy in force, and reloading it (admin)."""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency, Provide

from service.api.common import (
    authenticated,
    blocking,
    provide_caller,
    runtime_of,
)
from service.api_types import PolicyReload, PolicyView
from service.auth import Caller


class PolicyController(Controller):
    path = "/v1/admin/policy"
    dependencies = {"caller": Provide(provide_caller)}
    guards = [authenticated]
    tags = ["safety"]

    @get("/", summary="The policy in force: version, categories, signals (admin)")
    async def show(self, request: Request, caller: NamedDependency[Caller]) -> PolicyView:
        caller.require("admin")
        runtime = runtime_of(request)
        return await blocking(runtime.screening.policy_view)

    @post(
        "/reload", status_code=200, summary="Reload the policy file now; a bad file is refused and the old policy stays"
    )
    async def reload(self, request: Request, caller: NamedDependency[Caller]) -> PolicyReload:
        caller.require("admin")
        return await blocking(runtime_of(request).screening.reload_policy)
