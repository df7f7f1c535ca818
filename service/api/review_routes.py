"""/v1/reviews: the human queue of held generations — list, look at the input and clip, approve or reject."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody, QueryParameter

from service.api.common import (
    authenticated,
    blocking,
    provide_caller,
    runtime_of,
)
from service.api.openapi_bodies import media_response
from service.api.ranges import stored_media_response
from service.api_types import ReviewAction, ReviewPage, ReviewResolution
from service.auth import Caller
from service.generations import reviews
from service.media_types import sniff_image_type
from service.problems import Forbidden, NotFound


def _require_reviewer(caller: Caller) -> None:
    if not (caller.has("audit") or caller.has("admin")):
        raise Forbidden("reviews need the 'audit' or 'admin' scope", required_scope="audit")


class ReviewController(Controller):
    path = "/v1/reviews"
    dependencies = {"caller": Provide(provide_caller)}
    guards = [authenticated]
    tags = ["safety"]

    @get("/", summary="Generations held for a human decision, oldest first")
    async def list_reviews(
        self,
        request: Request,
        caller: NamedDependency[Caller],
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 100,
    ) -> ReviewPage:
        _require_reviewer(caller)
        return await blocking(reviews.pending, runtime_of(request), limit=limit)

    @post(
        "/{review_id:str}", status_code=200, summary="Approve (the job resumes or is released) or reject, with a reason"
    )
    async def resolve(
        self, request: Request, caller: NamedDependency[Caller], review_id: FromPath[str], data: JSONBody[ReviewAction]
    ) -> ReviewResolution:
        _require_reviewer(caller)
        return await blocking(
            reviews.resolve,
            runtime_of(request),
            review_id,
            action=data.action,
            reason=data.reason,
            reviewer_key_id=caller.key_id,
            reviewer=data.reviewer or caller.name,
        )

    @get(
        "/{review_id:str}/input",
        summary="The held request's input image",
        responses=media_response(
            "application/octet-stream", "The image as uploaded (image/png, image/jpeg or image/webp)"
        ),
    )
    async def input_image(
        self, request: Request, caller: NamedDependency[Caller], review_id: FromPath[str]
    ) -> Response:
        _require_reviewer(caller)
        data = await blocking(reviews.held_input_image, runtime_of(request), review_id)
        return Response(content=data, media_type=sniff_image_type(data))

    @get(
        "/{review_id:str}/video",
        summary="The held output clip",
        media_type="video/mp4",
        responses=media_response("video/mp4", "The held clip (Range requests answered with 206)"),
    )
    async def video(self, request: Request, caller: NamedDependency[Caller], review_id: FromPath[str]) -> Response:
        _require_reviewer(caller)
        runtime = runtime_of(request)
        generation = await blocking(reviews.held_generation, runtime, review_id)
        if not generation.video_key:
            raise NotFound("this review has no output clip")
        return await blocking(
            stored_media_response,
            runtime.storage,
            generation.video_key,
            request.headers.get("range"),
            "video/mp4",
            f"{generation.id}.mp4",
        )
