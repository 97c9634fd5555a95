"""RFC 9457 problem details for every error the API returns."""

from __future__ import annotations

import logging
import re
import traceback
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from shared.db.integrity import conflict_for
from shared.errors import AppError, ServiceUnavailable
from shared.logging import request_id_var

log = logging.getLogger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_BASE = "https://tandem.dev/problems/"

_TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    409: "Conflict",
    410: "Gone",
    412: "Precondition failed",
    413: "Payload too large",
    415: "Unsupported media type",
    422: "Validation error",
    428: "Precondition required",
    429: "Too many requests",
    500: "Internal server error",
    503: "Service unavailable",
}


def problem_response(
    status: int,
    detail: str,
    *,
    type_slug: str | None = None,
    title: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response:
    """A problem+json response."""
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + (type_slug or _slug(status)),
        "title": title or _TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
    }
    if errors is not None:
        body["errors"] = errors
    body.update(extra)
    return Response(
        orjson.dumps(body), status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers
    )


def _slug(status: int) -> str:
    return _TITLES.get(status, "error").lower().replace(" ", "-")


def _field_name(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in {"body", "query", "path", "header"}:
        where, rest = parts[0], parts[1:]
        return f"{where}.{'.'.join(rest)}" if rest else where
    return ".".join(parts)


def validation_errors(raw: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One entry per bad field: where it is, what is wrong with it."""
    out = []
    for err in raw:
        msg = str(err.get("msg", "invalid"))
        msg = msg.removeprefix("Value error, ")
        out.append(
            {"field": _field_name(err.get("loc", ())), "message": msg, "type": err.get("type")}
        )
    return out


def app_error_response(exc: AppError) -> Response:
    """The problem+json answer to an error a service raised."""
    headers = {"WWW-Authenticate": 'Bearer realm="tandem"'} if exc.status == 401 else None
    if isinstance(exc, ServiceUnavailable):
        headers = {"Retry-After": str(exc.retry_after)}
    return problem_response(
        exc.status,
        exc.detail,
        type_slug=exc.type_slug,
        title=exc.title,
        errors=exc.errors,
        headers=headers,
        **exc.extra,
    )


def expected_error_response(exc: Exception) -> Response | None:
    """The answer to an error a route may expect (a service's AppError, a unique index that
    fired despite the services' checks: 409 naming the field), or None for a bug."""
    if isinstance(exc, AppError):
        return app_error_response(exc)
    if isinstance(exc, IntegrityError):
        conflict = conflict_for(exc)
        if conflict is not None:
            return app_error_response(conflict)
    return None


async def _app_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AppError)
    return app_error_response(exc)


async def _validation_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = validation_errors(list(exc.errors()))
    fields = ", ".join(e["field"] for e in errors[:5])
    return problem_response(422, f"The request has invalid fields: {fields}", errors=errors)


def allowed_methods(request: Request) -> list[str]:
    """Every method the app answers on this request's path, as its OpenAPI document lists
    them (RFC 9110: a 405 names them all, though each method of a path is a route of its
    own and the router only knows the one it tried)."""
    state = request.app.state
    templates: list[tuple[re.Pattern[str], list[str]]] | None = getattr(state, "path_methods", None)
    if templates is None:
        templates = [
            (
                re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(path)) + "$"),
                sorted(method.upper() for method in item),
            )
            for path, item in request.app.openapi()["paths"].items()
        ]
        state.path_methods = templates
    path = request.url.path
    return sorted({m for pattern, methods in templates if pattern.match(path) for m in methods})


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else _TITLES.get(exc.status_code, "Error")
    headers = dict(exc.headers or {})
    if exc.status_code == 404 and detail == "Not Found":
        detail = "No such route."
    if exc.status_code == 400 and detail == "There was an error parsing the body":
        detail = "The request body is not valid JSON (UTF-8)."
    if exc.status_code == 405:
        detail = "This method is not allowed on this route."
        headers["Allow"] = ", ".join(allowed_methods(request))
    return problem_response(exc.status_code, detail, headers=headers or None)


def unhandled_response(exc: BaseException, route: str) -> Response:
    """Log an unexpected error and answer 500. The log line names the exception's type, the
    route and the request id, and where it was raised; never its text, which may quote bound
    values or rows (secrets among them)."""
    log.error(
        "unhandled error",
        extra={
            "error_type": f"{type(exc).__module__}.{type(exc).__qualname__}",
            "route": route,
            "request_id": request_id_var.get(),
            "where": "".join(traceback.format_tb(exc.__traceback__)[-8:]),
        },
    )
    return problem_response(500, "An unexpected error occurred; it has been logged.")


async def _integrity_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, IntegrityError)
    return expected_error_response(exc) or await _unhandled(request, exc)


async def _unhandled(request: Request, exc: Exception) -> Response:
    route = getattr(request.scope.get("route"), "path", None) or "unmatched"
    return unhandled_response(exc, route)


def install(app: FastAPI) -> None:
    """Route every error through the problem renderer."""
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(IntegrityError, _integrity_error)
    app.add_exception_handler(Exception, _unhandled)
