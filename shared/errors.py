"""Errors raised by shared code; the API renders them as RFC 9457 problem details."""

from __future__ import annotations

from typing import Any


class AppError(Exception):
    """An expected failure with an HTTP-like status and a problem type slug."""

    status: int = 400
    type_slug: str = "bad-request"
    title: str = "Bad request"

    def __init__(
        self,
        detail: str,
        *,
        errors: list[dict[str, Any]] | None = None,
        type_slug: str | None = None,
        **extra: Any,
    ):
        super().__init__(detail)
        self.detail = detail
        self.errors = errors
        if type_slug is not None:
            self.type_slug = type_slug
        self.extra = extra


class BadRequest(AppError):
    status, type_slug, title = 400, "bad-request", "Bad request"


class Unauthorized(AppError):
    status, type_slug, title = 401, "unauthorized", "Unauthorized"


class Forbidden(AppError):
    status, type_slug, title = 403, "forbidden", "Forbidden"


class NotFound(AppError):
    status, type_slug, title = 404, "not-found", "Not found"


class Conflict(AppError):
    status, type_slug, title = 409, "conflict", "Conflict"


class Gone(AppError):
    status, type_slug, title = 410, "gone", "Gone"


class PreconditionFailed(AppError):
    status, type_slug, title = 412, "precondition-failed", "Precondition failed"


class PayloadTooLarge(AppError):
    status, type_slug, title = 413, "payload-too-large", "Payload too large"


class Unprocessable(AppError):
    status, type_slug, title = 422, "validation-error", "Validation error"


class PreconditionRequired(AppError):
    status, type_slug, title = 428, "precondition-required", "Precondition required"


class ServiceUnavailable(AppError):
    """Too busy to serve now; `retry_after` says when to try again (seconds)."""

    status, type_slug, title = 503, "service-unavailable", "Service unavailable"

    def __init__(self, detail: str, *, retry_after: int = 1, **extra: Any) -> None:
        super().__init__(detail, **extra)
        self.retry_after = retry_after
