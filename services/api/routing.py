"""Pieces every router uses: documented error responses, list parameters, created responses."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path, Query, Request
from pydantic import BaseModel, Field
from starlette.responses import Response

from services.api.conventions import etag, json_response
from shared.pagination import MAX_LIMIT
from shared.types import SecretariatCode


class FieldError(BaseModel):
    field: str = Field(examples=["body.end_date"])
    message: str = Field(examples=["end_date must not be before start_date"])
    type: str | None = None


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str = Field(examples=["https://tandem.dev/problems/validation-error"])
    title: str = Field(examples=["Validation error"])
    status: int = Field(examples=[422])
    detail: str = Field(examples=["The request has invalid fields: body.end_date"])
    errors: list[FieldError] | None = None


_DESCRIPTIONS = {
    304: "Not modified (If-None-Match names the current version)",
    400: "Malformed request (cursor, header)",
    401: "Missing, unknown or revoked API key",
    403: "The key lacks the scope, or the object belongs to another secretariat",
    404: "No such object",
    409: "Conflicts with the current state",
    412: "If-Match names a stale version",
    413: "Request body over 1 MiB (5 MiB for batch upserts and taxa imports, with a write key)",
    422: "Invalid fields (one entry per field)",
}


def problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for the problem statuses a route may return (auth ones always)."""
    wanted = sorted({400, 401, 403, 413, 422, *codes})
    out: dict[int | str, dict[str, Any]] = {}
    for code in wanted:
        if code == 304:
            out[code] = {"description": _DESCRIPTIONS[code]}
            continue
        out[code] = {
            "description": _DESCRIPTIONS.get(code, "Error"),
            "model": Problem,
            "content": {
                "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
            },
        }
    return out


Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Page size (1..200)")]
Cursor = Annotated[
    str | None,
    Query(max_length=512, description="The next_cursor of the previous page"),
]
RefSource = Annotated[
    str,
    Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$", description="Source system"),
]
RefId = Annotated[
    str,
    Path(min_length=1, max_length=200, pattern=r"^[\x21-\x7e]+$", description="Id in that system"),
]
RefOwner = Annotated[
    SecretariatCode | None,
    Query(
        description="The secretariat whose external reference this is: references are "
        "unique per secretariat, and resolved within the key's own. Required with an admin "
        "key (which belongs to no secretariat), else 422; a secretariat's key may omit it or "
        "name its own (another is 403)."
    ),
]


def page_response(items: list[dict[str, Any]], next_cursor: str | None) -> Response:
    return json_response({"items": items, "next_cursor": next_cursor})


def created_response(request: Request, body: dict[str, Any], collection: str) -> Response:
    """201 with Location and ETag."""
    return json_response(
        body,
        201,
        {"Location": f"{collection}/{body['id']}", "ETag": etag(body["version"])},
    )
