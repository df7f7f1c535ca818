"""/v1/generations: submit, poll, stream progress, download, cancel, list."""

from __future__ import annotations

import asyncio
import enum
from collections.abc import AsyncIterator
from typing import Annotated

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, QueryParameter
from litestar.response import ServerSentEvent, ServerSentEventMessage

from service.api.bodies import FORM_TYPES, content_type
from service.api.common import (
    authenticated,
    base_url,
    blocking,
    provide_caller,
    runtime_of,
)
from service.api.openapi_bodies import documented_body, media_response, struct_schema, with_file
from service.api.ranges import stored_media_response
from service.api_types import GenerationPage, GenerationView
from service.auth import Caller
from service.generations import records
from service.generations.request import (
    GenerationRequest,
    parse_form_request,
    parse_json_request,
)
from service.generations.status import FINAL_STATES, GenerationStatus
from service.generations.views import view
from service.problems import (
    Conflict,
    InvalidRequest,
    PayloadTooLarge,
    UnsupportedMediaType,
)

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
                raise PayloadTooLarge(
                    f"the image is {len(image_bytes)} bytes; the limit is {max_bytes}", limit_bytes=max_bytes
                )
        else:
            fields[name] = value
    if "image" in fields:
        raise InvalidRequest("in a multipart request the image must be a file part", field="image")
    return fields, image_bytes


async def _read_request(request: Request, max_bytes: int) -> tuple[GenerationRequest, bytes | None]:
    kind = content_type(request)
    if kind in ("application/json", ""):
        return parse_json_request(await request.body()), None
    if kind in FORM_TYPES:
        fields, image_bytes = await read_upload_form(request, max_bytes)
        return parse_form_request(fields), image_bytes
    raise UnsupportedMediaType(f"send application/json or multipart/form-data (or a urlencoded form), not {kind}")


class StreamEvent(enum.Enum):
    """Event names of the progress stream; every one but `progress` is the last the stream sends."""

    PROGRESS = "progress"
    END = "end"  # the generation reached a final state
    REVIEW = "review"  # held for a human decision, which may take days: poll, or reconnect later
    TIMEOUT = "timeout"  # the stream was open for events_max_duration_s


def _stream_event(status: GenerationStatus) -> StreamEvent:
    if status in FINAL_STATES:
        return StreamEvent.END
    return StreamEvent.REVIEW if status == GenerationStatus.REVIEW else StreamEvent.PROGRESS


def _json(current: GenerationView) -> str:
    return msgspec.json.encode(current).decode()


class GenerationController(Controller):
    path = "/v1/generations"
    dependencies = {"caller": Provide(provide_caller)}
    guards = [authenticated]
    tags = ["generations"]

    @post(
        "/",
        status_code=202,
        operation_class=documented_body(
            {
                "application/json": struct_schema(GenerationRequest),
                "multipart/form-data": with_file(struct_schema(GenerationRequest), "image"),
            },
            description="A prompt and/or an image (base64 or a data: URL in JSON; a file part named 'image' in multipart)",
        ),
        summary="Request a clip from a prompt and/or an image",
        description=(
            "JSON body (GenerationRequest; the image as base64 or a data: URL) or multipart/form-data (an 'image' file "
            "part plus the same fields). Inputs are screened first; a refused request gets 403 with the policy "
            "categories. Honors the Idempotency-Key header."
        ),
    )
    async def create(self, request: Request, caller: NamedDependency[Caller]) -> Response[GenerationView]:
        caller.require("generate")
        runtime = runtime_of(request)
        idempotency_key = request.headers.get("idempotency-key")
        if idempotency_key is not None and not (0 < len(idempotency_key) <= _IDEMPOTENCY_MAX):
            raise InvalidRequest(f"Idempotency-Key must be 1 to {_IDEMPOTENCY_MAX} characters", field="Idempotency-Key")
        body, image_bytes = await _read_request(request, runtime.settings.max_upload_bytes)
        generation, created = await blocking(
            runtime.submission.submit,
            body,
            image_bytes=image_bytes,
            caller_key_id=caller.key_id,
            idempotency_key=idempotency_key,
        )
        waiting = (
            await blocking(runtime.waiting_for, generation.model)
            if generation.status == GenerationStatus.QUEUED
            else None
        )
        shown = view(generation, base_url(request), waiting)
        headers = {"Location": shown.links.self_}
        if not created:
            headers["Idempotent-Replayed"] = "true"
        return Response(shown, status_code=202 if created else 200, headers=headers)

    @get("/", summary="The caller's generations, newest first")
    async def list_generations(
        self,
        request: Request,
        caller: NamedDependency[Caller],
        limit: Annotated[int, QueryParameter(ge=1, le=100)] = 20,
        cursor: Annotated[str | None, QueryParameter()] = None,
        status: Annotated[str | None, QueryParameter()] = None,
        all_keys: Annotated[bool, QueryParameter(description="auditors: every key's generations")] = False,
    ) -> GenerationPage:
        runtime = runtime_of(request)

        def page() -> GenerationPage:
            with runtime.db.session() as session:
                rows, next_cursor = records.list_owned(
                    session, caller, limit=limit, cursor=cursor, status=status, all_keys=all_keys
                )
                return GenerationPage(items=[view(row, base_url(request)) for row in rows], next_cursor=next_cursor)

        return await blocking(page)

    @get("/{generation_id:str}", summary="Status, progress, timings and results of one generation")
    async def get_generation(
        self, request: Request, caller: NamedDependency[Caller], generation_id: FromPath[str]
    ) -> GenerationView:
        runtime = runtime_of(request)

        def fetch() -> GenerationView:
            with runtime.db.session() as session:
                generation = records.get_owned(session, generation_id, caller)
                waiting = (
                    runtime.waiting_for(generation.model) if generation.status == GenerationStatus.QUEUED else None
                )
                return view(generation, base_url(request), waiting)

        return await blocking(fetch)

    @post("/{generation_id:str}/cancel", status_code=202, summary="Cancel a queued or running generation")
    async def cancel(
        self, request: Request, caller: NamedDependency[Caller], generation_id: FromPath[str]
    ) -> GenerationView:
        runtime = runtime_of(request)

        def cancel() -> GenerationView:
            with runtime.db.session() as session:
                generation = records.get_owned(session, generation_id, caller)
                records.require_control(generation, caller)
                return view(records.request_cancel(session, generation), base_url(request))

        return await blocking(cancel)

    @get(
        "/{generation_id:str}/video",
        summary="The MP4 (H.264) with its Content Credentials",
        media_type="video/mp4",
        responses=media_response("video/mp4", "The clip (Range requests answered with 206), or a redirect to it"),
    )
    async def video(self, request: Request, caller: NamedDependency[Caller], generation_id: FromPath[str]) -> Response:
        runtime = runtime_of(request)

        def locate():
            with runtime.db.session() as session:
                generation = records.get_owned(session, generation_id, caller)
                if generation.status != GenerationStatus.SUCCEEDED or not generation.video_key:
                    raise Conflict(
                        f"the video is not available: the generation is {generation.status}",
                        generation_status=generation.status,
                    )
                return generation.video_key

        key = await blocking(locate)
        return await blocking(
            stored_media_response,
            runtime.storage,
            key,
            request.headers.get("range"),
            "video/mp4",
            f"{generation_id}.mp4",
            redirect_ttl_s=runtime.video_redirect_ttl_s,
        )

    @get(
        "/{generation_id:str}/events",
        summary="Server-Sent Events: progress until the generation ends",
        media_type="text/event-stream",
        responses=media_response(
            "text/event-stream",
            "Events progress, end, review or timeout; each event's data is the generation's view",
            GenerationView,
        ),
    )
    async def events(
        self, request: Request, caller: NamedDependency[Caller], generation_id: FromPath[str]
    ) -> ServerSentEvent:
        runtime = runtime_of(request)
        base = base_url(request)

        def snapshot() -> GenerationView:
            with runtime.db.session() as session:
                return view(records.get_owned(session, generation_id, caller), base)

        first = await blocking(snapshot)  # 404 before the stream starts, not inside it
        slot = request.app.state.event_streams.hold(caller.key_id)
        slot.__enter__()  # 429 here, before the stream starts, when the key has too many open
        poll, limit_s = runtime.settings.events_poll_s, runtime.settings.events_max_duration_s

        async def stream() -> AsyncIterator[ServerSentEventMessage]:
            current, last_sent, sequence, idle, elapsed = first, None, 0, 0.0, 0.0
            try:
                while True:
                    state = (current.status, current.progress)
                    if state != last_sent:
                        sequence += 1
                        last_sent = state
                        event = _stream_event(current.status)
                        yield ServerSentEventMessage(data=_json(current), event=event.value, id=sequence)
                        idle = 0.0
                        if event is not StreamEvent.PROGRESS:
                            return
                    elif elapsed >= limit_s:
                        sequence += 1
                        yield ServerSentEventMessage(data=_json(current), event=StreamEvent.TIMEOUT.value, id=sequence)
                        return
                    elif idle >= 15.0:
                        yield ServerSentEventMessage(comment="keep-alive")
                        idle = 0.0
                    await asyncio.sleep(poll)
                    idle += poll
                    elapsed += poll
                    current = await blocking(snapshot)
            finally:
                slot.__exit__(None, None, None)

        return ServerSentEvent(stream())
