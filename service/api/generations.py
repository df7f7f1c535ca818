"""/v1/generations: submit, poll, stream progress, download, cancel, list."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated, Any, AsyncIterator

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, QueryParameter
from litestar.response import ServerSentEvent, ServerSentEventMessage

from service import generations
from service.api.common import base_url, blocking, json_response, provide_caller, runtime_of
from service.api.ranges import stored_media_response
from service.auth import Caller
from service.errors import Conflict, InvalidRequest, PayloadTooLarge, UnsupportedMediaType
from service.jobs.leases import FINAL_STATES

_IDEMPOTENCY_MAX = 200


async def read_upload_form(request: Request, max_bytes: int) -> tuple[dict[str, str], bytes | None]:
    """Fields and the 'image' file part of a multipart (or urlencoded) form."""
    form = await request.form()
    image_bytes = None
    fields: dict[str, str] = {}
    for name, value in form.multi_items():
        if isinstance(value, UploadFile):
            if name != "image":
                raise InvalidRequest(f"unexpected file field '{name}'; send the input image as 'image'", field=name)
            image_bytes = await value.read()
            if len(image_bytes) > max_bytes:
                raise PayloadTooLarge(f"the image is {len(image_bytes)} bytes; the limit is {max_bytes}", limit_bytes=max_bytes)
        else:
            fields[name] = value
    if "image" in fields:
        raise InvalidRequest("in a multipart request the image must be a file part", field="image")
    return fields, image_bytes


async def _read_request(request: Request, max_bytes: int) -> tuple[generations.GenerationRequest, bytes | None]:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type in ("application/json", ""):
        return generations.parse_json_request(await request.body()), None
    if content_type in ("multipart/form-data", "application/x-www-form-urlencoded"):
        fields, image_bytes = await read_upload_form(request, max_bytes)
        return generations.parse_form_request(fields), image_bytes
    raise UnsupportedMediaType(f"send application/json or multipart/form-data (or a urlencoded form), not {content_type}")


class GenerationController(Controller):
    path = "/v1/generations"
    dependencies = {"caller": Provide(provide_caller)}
    tags = ["generations"]

    @post(
        "/",
        status_code=202,
        summary="Request a clip from a prompt and/or an image",
        description=(
            "JSON body (GenerationRequest; the image as base64 or a data: URL) or multipart/form-data (an 'image' file "
            "part plus the same fields). Inputs are screened first; a refused request gets 403 with the policy "
            "categories. Honors the Idempotency-Key header."
        ),
    )
    async def create(self, request: Request, caller: NamedDependency[Caller]) -> Response:
        caller.require("generate")
        runtime = runtime_of(request)
        idempotency_key = request.headers.get("idempotency-key")
        if idempotency_key is not None and not (0 < len(idempotency_key) <= _IDEMPOTENCY_MAX):
            raise InvalidRequest(f"Idempotency-Key must be 1 to {_IDEMPOTENCY_MAX} characters", field="Idempotency-Key")
        body, image_bytes = await _read_request(request, runtime.settings.max_upload_bytes)
        generation, created = await blocking(
            runtime.submit_generation, body, image_bytes=image_bytes, caller_key_id=caller.key_id, idempotency_key=idempotency_key
        )
        waiting = await blocking(runtime.waiting_for, generation.model) if generation.status == "queued" else None
        view = generations.view(generation, base_url(request), waiting)
        headers = {"Location": view["links"]["self"]}
        if not created:
            headers["Idempotent-Replayed"] = "true"
        return json_response(view, status_code=202 if created else 200, headers=headers)

    @get("/", summary="The caller's generations, newest first")
    async def list_generations(
        self,
        request: Request,
        caller: NamedDependency[Caller],
        limit: Annotated[int, QueryParameter(ge=1, le=100)] = 20,
        cursor: Annotated[str | None, QueryParameter()] = None,
        status: Annotated[str | None, QueryParameter()] = None,
        all_keys: Annotated[bool, QueryParameter(description="auditors: every key's generations")] = False,
    ) -> Response:
        runtime = runtime_of(request)

        def page() -> dict[str, Any]:
            with runtime.db.session() as session:
                rows, next_cursor = generations.list_owned(session, caller, limit=limit, cursor=cursor, status=status, all_keys=all_keys)
                return {"items": [generations.view(row, base_url(request)) for row in rows], "next_cursor": next_cursor}

        return json_response(await blocking(page))

    @get("/{generation_id:str}", summary="Status, progress, timings and results of one generation")
    async def get_generation(self, request: Request, caller: NamedDependency[Caller], generation_id: FromPath[str]) -> Response:
        runtime = runtime_of(request)

        def fetch() -> dict[str, Any]:
            with runtime.db.session() as session:
                generation = generations.get_owned(session, generation_id, caller)
                waiting = runtime.waiting_for(generation.model) if generation.status == "queued" else None
                return generations.view(generation, base_url(request), waiting)

        return json_response(await blocking(fetch))

    @post("/{generation_id:str}/cancel", status_code=202, summary="Cancel a queued or running generation")
    async def cancel(self, request: Request, caller: NamedDependency[Caller], generation_id: FromPath[str]) -> Response:
        runtime = runtime_of(request)

        def cancel() -> dict[str, Any]:
            with runtime.db.session() as session:
                generation = generations.get_owned(session, generation_id, caller)
                return generations.view(generations.request_cancel(session, generation), base_url(request))

        return json_response(await blocking(cancel), status_code=202)

    @get("/{generation_id:str}/video", summary="The MP4 (H.264) with its Content Credentials")
    async def video(self, request: Request, caller: NamedDependency[Caller], generation_id: FromPath[str]) -> Response:
        runtime = runtime_of(request)

        def locate():
            with runtime.db.session() as session:
                generation = generations.get_owned(session, generation_id, caller)
                if generation.status != "succeeded" or not generation.video_key:
                    raise Conflict(f"the video is not available: the generation is {generation.status}", generation_status=generation.status)
                return generation.video_key

        key = await blocking(locate)
        return await blocking(stored_media_response, runtime.storage, key, request.headers.get("range"), "video/mp4",
                              f"{generation_id}.mp4", redirect_ttl_s=runtime.video_redirect_ttl_s)

    @get("/{generation_id:str}/events", summary="Server-Sent Events: progress until the generation ends")
    async def events(self, request: Request, caller: NamedDependency[Caller], generation_id: FromPath[str]) -> ServerSentEvent:
        runtime = runtime_of(request)
        base = base_url(request)

        def snapshot() -> dict[str, Any]:
            with runtime.db.session() as session:
                return generations.view(generations.get_owned(session, generation_id, caller), base)

        first = await blocking(snapshot)  # 404 before the stream starts, not inside it

        async def stream() -> AsyncIterator[ServerSentEventMessage]:
            current, last_sent, sequence, idle = first, None, 0, 0.0
            while True:
                state = (current["status"], current["progress"])
                if state != last_sent:
                    sequence += 1
                    last_sent = state
                    event = "end" if current["status"] in FINAL_STATES else "progress"
                    yield ServerSentEventMessage(data=json.dumps(current), event=event, id=sequence)
                    idle = 0.0
                    if event == "end":
                        return
                elif idle >= 15.0:
                    yield ServerSentEventMessage(comment="keep-alive")
                    idle = 0.0
                await asyncio.sleep(runtime.settings.events_poll_s)
                idle += runtime.settings.events_poll_s
                current = await blocking(snapshot)

        return ServerSentEvent(stream())
