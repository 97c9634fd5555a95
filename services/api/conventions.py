"""HTTP conventions every route follows: JSON bodies, ETags, preconditions, idempotent POSTs."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from shared.errors import BadRequest, PreconditionFailed
from shared.idempotency import service as idempotency
from shared.policy import Principal
from shared.serialization import dumps

JSON = "application/json"
_IDEMPOTENCY_KEY_OK = re.compile(r"^[\x21-\x7e]{1,255}$")
_ETAG_VALUE = re.compile(r'^(?:W/)?"(\d{1,18})"$')


def is_json(content_type: str | None) -> bool:
    """Whether a Content-Type header names plain JSON in UTF-8."""
    if content_type is None:
        return False
    media_type, _, parameters = content_type.partition(";")
    parameters = parameters.strip().lower()
    return media_type.strip().lower() == JSON and parameters in {"", "charset=utf-8"}


def json_response(
    body: Any, status_code: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """A JSON response serialised by orjson (dates as YYYY-MM-DD, timestamps RFC 3339)."""
    return Response(dumps(body), status_code=status_code, media_type=JSON, headers=headers)


def etag(version: int) -> str:
    """The strong ETag of an object's version."""
    return f'"{version}"'


def _entity_tags(header: str) -> list[tuple[bool, int]] | None:
    """(weak, version) of each entity tag an If-Match / If-None-Match header names; None for
    '*'."""
    tags: list[tuple[bool, int]] = []
    for part in header.split(","):
        part = part.strip()
        if part == "*":
            return None
        match = _ETAG_VALUE.match(part)
        if match is None:
            raise BadRequest(
                f"Malformed entity tag {part!r}: send the ETag of a previous response."
            )
        tags.append((part.startswith("W/"), int(match.group(1))))
    return tags


def object_response(
    request: Request, body: dict[str, Any], status_code: int = 200, **headers: str
) -> Response:
    """One object with its ETag; 304 when If-None-Match names the current version."""
    tag = etag(body["version"])
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None and request.method in {"GET", "HEAD"}:
        # If-None-Match uses the weak comparison: W/"3" matches version 3 (RFC 9110 13.1.2).
        tags = _entity_tags(if_none_match)
        if tags is None or any(version == body["version"] for _, version in tags):
            return Response(status_code=304, headers={"ETag": tag})
    return json_response(body, status_code, {"ETag": tag, **headers})


def expected_version(request: Request) -> int | None:
    """The version an If-Match header requires (None when absent or '*')."""
    header = request.headers.get("if-match")
    if header is None:
        return None
    try:
        tags = _entity_tags(header)
    except BadRequest as exc:
        # A value that is no entity tag matches no version either (RFC 9110 13.1.1).
        raise PreconditionFailed(exc.detail) from exc
    if tags is None:
        return None
    # If-Match uses the strong comparison, in which a weak tag never matches (RFC 9110 13.1.1).
    strong = {version for weak, version in tags if not weak}
    if not strong:
        raise PreconditionFailed(
            "If-Match names only weak entity tags, which never match: send the ETag as given."
        )
    if len(strong) != 1:
        raise BadRequest("If-Match must name exactly one entity tag.")
    return strong.pop()


def _request_hash(request: Request, body: bytes) -> str:
    try:
        canonical = orjson.dumps(orjson.loads(body), option=orjson.OPT_SORT_KEYS) if body else b""
    except orjson.JSONDecodeError:
        canonical = body
    digest = hashlib.sha256()
    for part in (request.method.encode(), request.url.path.encode(), canonical):
        digest.update(part)
        digest.update(b"\0")
    return digest.hexdigest()


async def idempotent(
    request: Request,
    session: AsyncSession,
    principal: Principal,
    ttl_hours: int,
    produce: Callable[[], Awaitable[Response]],
) -> Response:
    """Run a creating POST once per Idempotency-Key: a retry with the same body gets the first
    response again; with another body, 422. Concurrent retries wait for the first to commit."""
    key = request.headers.get("idempotency-key")
    if key is None:
        return await produce()
    if not _IDEMPOTENCY_KEY_OK.match(key):
        raise BadRequest("Idempotency-Key must be 1 to 255 printable ASCII characters.")
    request_hash = _request_hash(request, await request.body())
    stored = await idempotency.claim(session, principal.key_id, key, request_hash, ttl_hours)
    if stored is not None:
        return Response(
            stored.body,
            status_code=stored.status_code,
            headers={**stored.headers, "Idempotent-Replayed": "true"},
            media_type=JSON,
        )
    response = await produce()
    kept = {k: v for k, v in response.headers.items() if k.lower() in {"etag", "location"}}
    await idempotency.remember(
        session, principal.key_id, key, response.status_code, kept, bytes(response.body)
    )
    return response
