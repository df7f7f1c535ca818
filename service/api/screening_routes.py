"""/v1/screenings: screen a prompt and/or an image without generating (a dry run, audited)."""

from __future__ import annotations

import msgspec
from litestar import Controller, Request, post
from litestar.di import NamedDependency, Provide

from service.api.bodies import FORM_TYPES, content_type
from service.api.common import (
    authenticated,
    blocking,
    provide_caller,
    runtime_of,
)
from service.api.generation_routes import read_upload_form
from service.api.openapi_bodies import documented_body, struct_schema, with_file
from service.api_types import ScreeningRequest, ScreeningResult
from service.auth import Caller
from service.generations.request import decode_base64_image
from service.json_bodies import decode_json
from service.problems import Forbidden, InvalidRequest


class ScreeningController(Controller):
    path = "/v1/screenings"
    dependencies = {"caller": Provide(provide_caller)}
    guards = [authenticated]
    tags = ["safety"]

    @post(
        "/",
        status_code=200,
        summary="Screen a prompt and/or image without generating (audited)",
        operation_class=documented_body(
            {
                "application/json": struct_schema(ScreeningRequest),
                "multipart/form-data": with_file(struct_schema(ScreeningRequest), "image"),
            },
            description="A prompt and/or an image (base64 or a data: URL in JSON; a file part named 'image' in multipart)",
        ),
    )
    async def screen(self, request: Request, caller: NamedDependency[Caller]) -> ScreeningResult:
        if not (caller.has("generate") or caller.has("audit")):
            raise Forbidden("screenings need the 'generate' or 'audit' scope", required_scope="generate")
        runtime = runtime_of(request)
        limit = runtime.settings.max_upload_bytes
        kind = content_type(request)
        if kind in FORM_TYPES:
            fields, image_bytes = await read_upload_form(request, limit)
            try:
                body = msgspec.convert(fields, ScreeningRequest, strict=False)
            except msgspec.ValidationError as error:
                raise InvalidRequest(f"invalid form field: {error}") from None
        else:
            body = decode_json(await request.body() or b"{}", ScreeningRequest)
            image_bytes = decode_base64_image(body.image, limit) if body.image else None

        return await blocking(
            runtime.screening.screen_upload,
            prompt=body.prompt,
            negative_prompt=body.negative_prompt,
            image_bytes=image_bytes,
            api_key_id=caller.key_id,
        )
