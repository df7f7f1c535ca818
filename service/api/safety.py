"""/v1/screenings (dry runs), /v1/reviews (the human queue), /v1/admin/policy."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody, QueryParameter

from provenance.media import load_image
from service import reviews
from service.json_bodies import decode_json
from service.api.common import authenticated, blocking, json_response, provide_caller, runtime_of
from service.api.generations import read_upload_form
from service.api.openapi_bodies import documented_body, struct_schema, with_file
from service.api.ranges import stored_media_response
from service.auth import Caller
from service.errors import Forbidden, InvalidRequest, NotFound
from service.generations import decode_base64_image, sha256_hex


class ScreeningRequest(msgspec.Struct, forbid_unknown_fields=True):
    prompt: str | None = None
    negative_prompt: str | None = None
    image: str | None = None  # base64 or data: URL


class ReviewAction(msgspec.Struct, forbid_unknown_fields=True):
    action: str  # approve | reject
    reason: str
    reviewer: str = ""


def _require_reviewer(caller: Caller) -> None:
    if not (caller.has("audit") or caller.has("admin")):
        raise Forbidden("reviews need the 'audit' or 'admin' scope", required_scope="audit")


class ScreeningController(Controller):
    path = "/v1/screenings"
    dependencies = {"caller": Provide(provide_caller)}
    guards = [authenticated]
    tags = ["safety"]

    @post("/", status_code=200, summary="Screen a prompt and/or image without generating (audited)",
          operation_class=documented_body({
              "application/json": struct_schema(ScreeningRequest),
              "multipart/form-data": with_file(struct_schema(ScreeningRequest), "image"),
          }, description="A prompt and/or an image (base64 or a data: URL in JSON; a file part named 'image' in multipart)"))
    async def screen(self, request: Request, caller: NamedDependency[Caller]) -> Response:
        if not (caller.has("generate") or caller.has("audit")):
            raise Forbidden("screenings need the 'generate' or 'audit' scope", required_scope="generate")
        runtime = runtime_of(request)
        limit = runtime.settings.max_upload_bytes
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type in ("multipart/form-data", "application/x-www-form-urlencoded"):
            fields, image_bytes = await read_upload_form(request, limit)
            try:
                body = msgspec.convert(fields, ScreeningRequest, strict=False)
            except msgspec.ValidationError as error:
                raise InvalidRequest(f"invalid form field: {error}") from None
        else:
            body = decode_json(await request.body() or b"{}", ScreeningRequest)
            image_bytes = decode_base64_image(body.image, limit) if body.image else None

        def run() -> dict[str, Any]:
            if not (body.prompt or image_bytes):
                raise InvalidRequest("send a prompt, an image, or both", field="prompt")
            image = load_image(image_bytes, max_pixels=runtime.settings.max_image_pixels) if image_bytes else None
            decided = runtime.screening.screen_inputs(
                prompt=body.prompt, negative_prompt=body.negative_prompt, image=image, api_key_id=caller.key_id,
                generation_id=None, kind="screening", image_sha256=sha256_hex(image_bytes) if image_bytes else None,
            )
            result = decided.public()
            result["signals"] = {report.name: report.active for report in decided.screening.signals}
            return result

        return json_response(await blocking(run))


class ReviewController(Controller):
    path = "/v1/reviews"
    dependencies = {"caller": Provide(provide_caller)}
    guards = [authenticated]
    tags = ["safety"]

    @get("/", summary="Generations held for a human decision, oldest first")
    async def list_reviews(self, request: Request, caller: NamedDependency[Caller],
                           limit: Annotated[int, QueryParameter(ge=1, le=500)] = 100) -> Response:
        _require_reviewer(caller)
        return json_response({"items": await blocking(reviews.pending, runtime_of(request), limit=limit)})

    @post("/{review_id:str}", status_code=200, summary="Approve (the job resumes or is released) or reject, with a reason")
    async def resolve(self, request: Request, caller: NamedDependency[Caller], review_id: FromPath[str],
                      data: JSONBody[ReviewAction]) -> Response:
        _require_reviewer(caller)
        result = await blocking(reviews.resolve, runtime_of(request), review_id, action=data.action, reason=data.reason,
                                reviewer_key_id=caller.key_id, reviewer=data.reviewer or caller.name)
        return json_response(result)

    @get("/{review_id:str}/input", summary="The held request's input image")
    async def input_image(self, request: Request, caller: NamedDependency[Caller], review_id: FromPath[str]) -> Response:
        _require_reviewer(caller)
        runtime = runtime_of(request)
        generation = await blocking(reviews.held_generation, runtime, review_id)
        if not generation.input_image_key or not await blocking(runtime.storage.exists, generation.input_image_key):
            raise NotFound("this review has no input image")
        data = await blocking(runtime.storage.get, generation.input_image_key)
        kind = "image/png" if data.startswith(b"\x89PNG") else "image/jpeg" if data.startswith(b"\xff\xd8") else "application/octet-stream"
        return Response(content=data, media_type=kind)

    @get("/{review_id:str}/video", summary="The held output clip")
    async def video(self, request: Request, caller: NamedDependency[Caller], review_id: FromPath[str]) -> Response:
        _require_reviewer(caller)
        runtime = runtime_of(request)
        generation = await blocking(reviews.held_generation, runtime, review_id)
        if not generation.video_key:
            raise NotFound("this review has no output clip")
        return await blocking(stored_media_response, runtime.storage, generation.video_key, request.headers.get("range"),
                              "video/mp4", f"{generation.id}.mp4")


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
