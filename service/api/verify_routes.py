"""POST /v1/verify: bring a clip or still back and get a verdict with evidence."""

from __future__ import annotations

from litestar import Request, post
from litestar.datastructures import UploadFile

from service.api.bodies import content_type
from service.api.common import (
    authenticate_connection,
    blocking,
    presented_key,
    runtime_of,
)
from service.api.openapi_bodies import BINARY, documented_body
from service.api_types import VerificationResult
from service.metrics import VERIFICATIONS
from service.problems import InvalidRequest, PayloadTooLarge

_ACCEPTED = "MP4, MOV, WebM, GIF, PNG or JPEG"


async def _upload(request: Request, limit: int) -> bytes:
    kind = content_type(request)
    if kind == "multipart/form-data":
        form = await request.form()
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise InvalidRequest(f"send the clip as a multipart file part named 'file' ({_ACCEPTED})", field="file")
        data = await upload.read()
    elif kind.startswith(("video/", "image/")) or kind == "application/octet-stream":
        data = await request.body()
    else:
        raise InvalidRequest(
            f"send multipart/form-data with a 'file' part, or the raw bytes ({_ACCEPTED})", field="file"
        )
    if len(data) > limit:
        raise PayloadTooLarge(f"the file is {len(data)} bytes; the limit is {limit}", limit_bytes=limit)
    if not data:
        raise InvalidRequest("the uploaded file is empty", field="file")
    return data


@post(
    "/v1/verify",
    status_code=200,
    tags=["verify"],
    operation_class=documented_body(
        {
            "multipart/form-data": {"type": "object", "required": ["file"], "properties": {"file": BINARY}},
            "application/octet-stream": BINARY,
            "video/mp4": BINARY,
            "image/png": BINARY,
            "image/jpeg": BINARY,
        },
        description=f"The clip or still ({_ACCEPTED}): a multipart file part named 'file', or the raw bytes",
    ),
    summary="Was this clip generated here? C2PA manifest, watermark, Stability mark and fingerprint, one verdict",
    description=f"Multipart upload (part 'file') or raw body of {_ACCEPTED}. Scope 'verify' (or open when "
    "ORIGINFRAME_VERIFY_OPEN=true). The matched generation is shown in full only to its owner or an auditor.",
)
async def verify(request: Request) -> VerificationResult:
    runtime = runtime_of(request)
    secret = presented_key(request)
    caller = None
    if secret or not runtime.settings.verify_open:
        caller = await authenticate_connection(request)
        caller.require("verify")
    data = await _upload(request, runtime.settings.max_upload_bytes)
    report = await blocking(runtime.provenance.verify, data, caller=caller)
    VERIFICATIONS.labels(verdict=report.verdict).inc()
    return report
