"""/v1/keys: API keys (scope admin). A key's secret is returned once, at creation."""

from __future__ import annotations

from litestar import Controller, Request, delete, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody

from service import auth
from service.api.common import (
    authenticated,
    blocking,
    provide_caller,
    runtime_of,
)
from service.api_types import CallerView, CreatedKey, KeyPage, KeyRequest, KeyView
from service.auth import Caller


class KeyController(Controller):
    path = "/v1/keys"
    dependencies = {"caller": Provide(provide_caller)}
    guards = [authenticated]
    tags = ["keys"]

    @post("/", status_code=201, summary="Create an API key (the secret is shown only in this response)")
    async def create(self, request: Request, caller: NamedDependency[Caller], data: JSONBody[KeyRequest]) -> CreatedKey:
        caller.require("admin")
        created = await blocking(auth.create_key, runtime_of(request).db, data.scopes, data.name)
        return CreatedKey(id=created.key_id, key=created.secret, scopes=list(created.scopes), name=created.name)

    @get("/", summary="List API keys (never their secrets)")
    async def list_keys(self, request: Request, caller: NamedDependency[Caller]) -> KeyPage:
        caller.require("admin")
        keys = await blocking(auth.list_keys, runtime_of(request).db)
        return KeyPage(
            items=[
                KeyView(
                    id=key.id,
                    name=key.name,
                    scopes=sorted(key.scope_set),
                    created_at=key.created_at.isoformat(),
                    revoked_at=key.revoked_at.isoformat() if key.revoked_at else None,
                    last_used_at=key.last_used_at.isoformat() if key.last_used_at else None,
                )
                for key in keys
            ]
        )

    @delete("/{key_id:str}", status_code=204, summary="Revoke an API key")
    async def revoke(self, request: Request, caller: NamedDependency[Caller], key_id: FromPath[str]) -> None:
        caller.require("admin")
        await blocking(auth.revoke_key, runtime_of(request).db, key_id)

    @get("/me", summary="The key making this request: id and scopes")
    async def me(self, caller: NamedDependency[Caller]) -> CallerView:
        return CallerView(id=caller.key_id, name=caller.name, scopes=sorted(caller.scopes))
