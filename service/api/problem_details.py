"""Errors to HTTP, in one place: every domain error becomes RFC 9457 problem details.

- the service's own errors (service/problems.py) carry their status and type;
- the libraries' errors: unreadable media and bad screening input are the client's (422), a
  policy file an admin uploads is theirs (422), missing or broken signing credentials and
  trust lists are the server's (500, `server-misconfigured`, with what an operator must fix);
- Litestar's own (validation 400, 404, 405, 413) keep their status with a readable detail;
- anything else is a 500 that says nothing but that it was logged.
"""

from __future__ import annotations

import logging
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.types import ExceptionHandlersMap

from provenance.errors import CredentialsError, ProvenanceError, SigningError, UnreadableMedia
from safety.errors import PolicyError, ScreeningInputError
from service.problems import ServiceError
from service.storage import StorageUnavailable

logger = logging.getLogger("originframe.errors")

PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "/problems/"


def problem(
    status: int,
    type_: str,
    title: str,
    detail: str,
    instance: str | None = None,
    extensions: dict[str, Any] | None = None,
) -> Response:
    body: dict[str, Any] = {"type": f"{PROBLEM_BASE}{type_}", "title": title, "status": status, "detail": detail}
    if instance:
        body["instance"] = instance
    for name, value in (extensions or {}).items():
        body.setdefault(name, value)
    return Response(content=body, status_code=status, media_type=PROBLEM_JSON)


def _service_error(request: Request, error: ServiceError) -> Response:
    response = problem(error.status, error.type, error.title, error.detail, request.url.path, error.extensions)
    response.headers.update(error.headers())
    return response


def _unreadable_media(request: Request, error: UnreadableMedia) -> Response:
    return problem(422, "unreadable-media", "The uploaded media cannot be read", str(error), request.url.path)


def _provenance_error(request: Request, error: ProvenanceError) -> Response:
    return problem(422, "provenance-error", "The media could not be processed", str(error), request.url.path)


def _credentials_error(request: Request, error: CredentialsError) -> Response:
    """The server's signing credentials or trust lists cannot be used: nothing the caller sent is
    wrong, so say so, and tell the operator where to look (the reason, with its paths, is logged)."""
    logger.error("signing credentials or trust lists are unusable (%s %s): %s", request.method, request.url.path, error)
    return problem(
        500,
        "server-misconfigured",
        "The server's provenance configuration is broken",
        "the server cannot load its C2PA signing credentials or trust lists; an operator must fix "
        "ORIGINFRAME_C2PA_CERT_CHAIN, ORIGINFRAME_C2PA_PRIVATE_KEY, ORIGINFRAME_C2PA_TRUST_ANCHORS, "
        "ORIGINFRAME_C2PA_TRUST_LIST or ORIGINFRAME_C2PA_TSA_TRUST_LIST (the server log names the reason)",
        request.url.path,
    )


def _signing_error(request: Request, error: SigningError) -> Response:
    logger.error("signing failed (%s %s): %s", request.method, request.url.path, error)
    return problem(
        500,
        "signing-failed",
        "The server could not sign the media",
        "signing Content Credentials failed on the server; the server log names the reason",
        request.url.path,
    )


def _screening_input(request: Request, error: ScreeningInputError) -> Response:
    return problem(422, "invalid-request", "The request is not valid", str(error), request.url.path)


def _policy_error(request: Request, error: PolicyError) -> Response:
    return problem(
        422,
        "invalid-policy",
        "The policy file was rejected; the previous policy stays in force",
        str(error),
        request.url.path,
    )


def _storage_unavailable(request: Request, error: StorageUnavailable) -> Response:
    response = problem(
        503, "storage-unavailable", "Media storage is unavailable; retry later", str(error), request.url.path
    )
    response.headers["Retry-After"] = "5"
    return response


def _reason(item: dict[str, Any]) -> str:
    source = getattr(item.get("source"), "value", item.get("source"))
    where = "body" if source == "body" else f"{item.get('key')} ({source})"
    return f"{where}: {item.get('message')}"


def _validation_error(request: Request, error: ValidationException) -> Response:
    errors = error.extra if isinstance(error.extra, list) else None
    # name what is wrong where (the page and the client show `detail`), not just "validation failed"
    reasons = [_reason(item) for item in errors or [] if isinstance(item, dict)]
    detail = "; ".join(reasons) or error.detail or "invalid request"
    return problem(
        400, "invalid-request-body", "The request is not valid", detail, request.url.path, {"errors": errors}
    )


def _http_error(request: Request, error: HTTPException) -> Response:
    titles = {404: "Not found", 405: "Method not allowed", 413: "The upload is too large"}
    detail = error.detail if isinstance(error.detail, str) else str(error.detail)
    if error.status_code == 413:
        detail = "the request body is larger than the upload limit (setting ORIGINFRAME_MAX_UPLOAD_BYTES)"
    return problem(
        error.status_code,
        {413: "payload-too-large", 404: "not-found", 405: "method-not-allowed"}.get(error.status_code, "http-error"),
        titles.get(error.status_code, detail),
        detail,
        request.url.path,
    )


def _unexpected(request: Request, error: Exception) -> Response:
    logger.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem(
        500, "internal-error", "Internal error", "an unexpected error occurred; it has been logged", request.url.path
    )


def exception_handlers() -> ExceptionHandlersMap:
    """Handlers for the app: most specific type first is resolved by Litestar's MRO lookup."""
    handlers: ExceptionHandlersMap = {
        ServiceError: _service_error,
        UnreadableMedia: _unreadable_media,
        ProvenanceError: _provenance_error,
        CredentialsError: _credentials_error,
        SigningError: _signing_error,
        ScreeningInputError: _screening_input,
        PolicyError: _policy_error,
        StorageUnavailable: _storage_unavailable,
        ValidationException: _validation_error,
        HTTPException: _http_error,
        Exception: _unexpected,
    }
    return handlers
