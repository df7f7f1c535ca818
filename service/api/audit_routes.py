"""/v1/audit: the decision log for auditors — filter, export, check the chain."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, QueryParameter
from litestar.response import Stream

from service.api.common import (
    authenticated,
    blocking,
    provide_caller,
    runtime_of,
)
from service.api_types import ChainCheck, CheckpointList, DecisionPage, DecisionRecord
from service.auth import Caller
from service.problems import InvalidRequest, NotFound

Query = QueryParameter


def _time(value: str | None, name: str) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidRequest(f"{name} must be an ISO 8601 time, e.g. 2026-11-26T10:00:00Z", field=name) from None
    if moment.tzinfo is None:
        raise InvalidRequest(f"{name} must include a time zone (e.g. a trailing Z)", field=name)
    return moment


class AuditController(Controller):
    path = "/v1/audit"
    dependencies = {"caller": Provide(provide_caller)}
    guards = [authenticated]
    tags = ["audit"]

    @staticmethod
    def _filters(since, until, decision, kind, category, api_key, policy_version, generation_id) -> dict[str, Any]:
        return {
            "since": _time(since, "since"),
            "until": _time(until, "until"),
            "decision": decision,
            "kind": kind,
            "category": category,
            "api_key_id": api_key,
            "policy_version": policy_version,
            "generation_id": generation_id,
        }

    @get("/decisions", summary="Decisions, oldest first, filtered; format=json (paged), jsonl or csv (export)")
    async def decisions(
        self,
        request: Request,
        caller: NamedDependency[Caller],
        since: Annotated[str | None, Query(description="ISO 8601, inclusive")] = None,
        until: Annotated[str | None, Query(description="ISO 8601, exclusive")] = None,
        decision: Annotated[str | None, Query(description="allow | allow_with_label | review | block")] = None,
        kind: Annotated[str | None, Query(description="screening | input | output | review")] = None,
        category: Annotated[str | None, Query()] = None,
        api_key: Annotated[str | None, Query(description="the deciding request's API key id")] = None,
        policy_version: Annotated[str | None, Query()] = None,
        generation_id: Annotated[str | None, Query()] = None,
        cursor: Annotated[int | None, Query(ge=0, le=2**63 - 1, description="next_cursor of the previous page")] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        format: Annotated[str, Query(description="json | jsonl | csv")] = "json",
    ) -> Response[DecisionPage]:
        caller.require("audit")
        runtime = runtime_of(request)
        filters = self._filters(since, until, decision, kind, category, api_key, policy_version, generation_id)
        if format in ("jsonl", "csv"):
            lines = await blocking(lambda: list(runtime.audit.export(format, **filters)))

            async def stream() -> AsyncIterator[bytes]:
                for line in lines:
                    yield line.encode()

            media = "application/x-ndjson" if format == "jsonl" else "text/csv; charset=utf-8"
            # the export formats stream; the JSON page is the documented body
            return Stream(  # type: ignore[return-value]
                stream(),
                media_type=media,
                headers={"Content-Disposition": f'attachment; filename="decisions.{format}"'},
            )
        if format != "json":
            raise InvalidRequest("format must be json, jsonl or csv", field="format")
        items, next_cursor = await blocking(runtime.audit.query, after_sequence=cursor, limit=limit, **filters)
        page = DecisionPage(items=[msgspec.convert(item, DecisionRecord) for item in items], next_cursor=next_cursor)
        return Response(page)

    @get("/decisions/{decision_id:str}", summary="One decision with its signals, scores and versions")
    async def decision(
        self, request: Request, caller: NamedDependency[Caller], decision_id: FromPath[str]
    ) -> DecisionRecord:
        caller.require("audit")
        record = await blocking(runtime_of(request).audit.get, decision_id)
        if record is None:
            raise NotFound(f"no decision {decision_id}")
        return msgspec.convert(record, DecisionRecord)

    @get("/verify", summary="Check the hash chain: where was a record edited, deleted or reordered?")
    async def verify(
        self,
        request: Request,
        caller: NamedDependency[Caller],
        expected_head: Annotated[str | None, Query(description="a record_hash you kept elsewhere")] = None,
    ) -> ChainCheck:
        caller.require("audit")
        return msgspec.convert(
            await blocking(runtime_of(request).audit.verify, expected_head=expected_head), ChainCheck
        )

    @get(
        "/checkpoints", summary="Signed checkpoints of the chain head (kept outside the database) and their public key"
    )
    async def checkpoints(self, request: Request, caller: NamedDependency[Caller]) -> CheckpointList:
        caller.require("audit")
        return msgspec.convert(await blocking(runtime_of(request).audit.read_checkpoints), CheckpointList)
