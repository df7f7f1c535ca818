"""Domain errors and their one mapping to HTTP (RFC 9457 problem details)."""

from __future__ import annotations

import logging
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException

from provenance.errors import ProvenanceError, UnreadableMedia
from safety.errors import PolicyError, ScreeningInputError
from service.storage import StorageUnavailable

logger = logging.getLogger("originframe.errors")

PROBLEM_JSON = "application/problem+json"


class ServiceError(Exception):
    """An error the caller can act on. Subclasses fix the HTTP status and problem type."""

    status = 400
    type = "bad-request"
    title = "Bad request"

    def __init__(self, detail: str, **extensions: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extensions = extensions

    def headers(self) -> dict[str, str]:
        """HTTP headers the answer must carry besides the problem body."""
        return {}


class InvalidRequest(ServiceError):
    status, type, title = 422, "invalid-request", "The request is not valid"

    def __init__(self, detail: str, *, field: str | None = None, **extensions: Any) -> None:
        if field:
            extensions["field"] = field
        super().__init__(detail, **extensions)


class PayloadTooLarge(ServiceError):
    status, type, title = 413, "payload-too-large", "The upload is too large"


class UnsupportedMediaType(ServiceError):
    status, type, title = 415, "unsupported-media-type", "Unsupported media type"


class Unauthorized(ServiceError):
    status, type, title = 401, "unauthorized", "A valid API key is required"

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": "Bearer"}


class Forbidden(ServiceError):
    status, type, title = 403, "forbidden", "The API key lacks the scope for this"


class NotFound(ServiceError):
    status, type, title = 404, "not-found", "Not found"


class Conflict(ServiceError):
    status, type, title = 409, "conflict", "The request conflicts with the resource's state"


class TooManyRequests(ServiceError):
    """The key already has as many generations in flight as it may; the answer carries Retry-After."""

    status, type, title = 429, "too-many-requests", "Too many generations in flight for this API key"

    def __init__(self, detail: str, *, retry_after_s: int, **extensions: Any) -> None:
        super().__init__(detail, retry_after_s=retry_after_s, **extensions)

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.extensions["retry_after_s"])}


class RateLimited(TooManyRequests):
    """A request-rate limit (per key or address and route class) or the open-stream limit."""

    title = "Too many requests"


class ServerBusy(ServiceError):
    """Every slot for this kind of heavy work is taken; the caller should come back later."""

    status, type, title = 503, "busy", "The server is busy with other requests of this kind"

    def __init__(self, detail: str, *, retry_after_s: int, **extensions: Any) -> None:
        super().__init__(detail, retry_after_s=retry_after_s, **extensions)

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.extensions["retry_after_s"])}


class RequestBlocked(ServiceError):
    """The safety policy refused the request (body names categories and the decision, never thresholds)."""

    status, type, title = 403, "blocked-by-policy", "The request was refused by the content policy"


class ModelUnavailable(ServiceError):
    status, type, title = 503, "model-unavailable", "The requested model is not available on this deployment"


def problem(status: int, type_: str, title: str, detail: str, instance: str | None = None,
            extensions: dict[str, Any] | None = None) -> Response:
    body = {"type": f"/problems/{type_}", "title": title, "status": status, "detail": detail}
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


def _screening_input(request: Request, error: ScreeningInputError) -> Response:
    return problem(422, "invalid-request", "The request is not valid", str(error), request.url.path)


def _policy_error(request: Request, error: PolicyError) -> Response:
    return problem(422, "invalid-policy", "The policy file was rejected; the previous policy stays in force", str(error),
                   request.url.path)


def _storage_unavailable(request: Request, error: StorageUnavailable) -> Response:
    response = problem(503, "storage-unavailable", "Media storage is unavailable; retry later", str(error), request.url.path)
    response.headers["Retry-After"] = "5"
    return response


def _reason(item: dict) -> str:
    source = getattr(item.get("source"), "value", item.get("source"))
    where = "body" if source == "body" else f"{item.get('key')} ({source})"
    return f"{where}: {item.get('message')}"


def _validation_error(request: Request, error: ValidationException) -> Response:
    errors = error.extra if isinstance(error.extra, list) else None
    # name what is wrong where (the page and the client show `detail`), not just "validation failed"
    reasons = [_reason(item) for item in errors or [] if isinstance(item, dict)]
    detail = "; ".join(reasons) or error.detail or "invalid request"
    return problem(400, "invalid-request-body", "The request is not valid", detail, request.url.path, {"errors": errors})


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
    return problem(500, "internal-error", "Internal error", "an unexpected error occurred; it has been logged", request.url.path)


def exception_handlers() -> dict:
    """Handlers for the app: most specific type first is resolved by Litestar's MRO lookup."""
    handlers: dict = {
        ServiceError: _service_error,
        UnreadableMedia: _unreadable_media,
        ProvenanceError: _provenance_error,
        ScreeningInputError: _screening_input,
        PolicyError: _policy_error,
        StorageUnavailable: _storage_unavailable,
        ValidationException: _validation_error,
        HTTPException: _http_error,
        Exception: _unexpected,
    }
    return handlers


__all__ = [
    "ServiceError",
    "InvalidRequest",
    "PayloadTooLarge",
    "UnsupportedMediaType",
    "Unauthorized",
    "Forbidden",
    "NotFound",
    "Conflict",
    "RequestBlocked",
    "RateLimited",
    "ServerBusy",
    "TooManyRequests",
    "ModelUnavailable",
    "exception_handlers",
    "problem",
]
