"""The service's domain errors: each names its HTTP status and a stable problem type, so the
one mapping to RFC 9457 problem details (service/api/problem_details.py) needs no table."""

from __future__ import annotations

from typing import Any


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


__all__ = [
    "Conflict",
    "Forbidden",
    "InvalidRequest",
    "ModelUnavailable",
    "NotFound",
    "PayloadTooLarge",
    "RateLimited",
    "RequestBlocked",
    "ServerBusy",
    "ServiceError",
    "TooManyRequests",
    "Unauthorized",
    "UnsupportedMediaType",
]
