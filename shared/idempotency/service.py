"""The rules of Idempotency-Key: one first response per API key and key, kept for a while."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from shared.errors import Unprocessable
from shared.idempotency import repository
from shared.models import IdempotencyRecord


async def claim(
    session: AsyncSession, api_key_id: uuid.UUID, key: str, request_hash: str, ttl_hours: int
) -> IdempotencyRecord | None:
    """None when this request is the first with the key (the key is now taken: store its
    response with `remember`); else the first request's record, to be answered again.
    A record older than `ttl_hours` is forgotten first, so the key can be used again; the
    same key with another request body is a 422. Concurrent retries wait for the first to
    commit."""
    before = datetime.now(UTC) - timedelta(hours=ttl_hours)
    await repository.forget_older_than(session, api_key_id, key, before)
    if await repository.claim(session, api_key_id, key, request_hash):
        return None
    stored = await repository.get(session, api_key_id, key)
    if stored.request_hash != request_hash:
        raise Unprocessable(
            "This Idempotency-Key was used with a different request body; "
            "use a new key for a new request.",
            type_slug="idempotency-key-reused",
        )
    return stored


async def remember(
    session: AsyncSession,
    api_key_id: uuid.UUID,
    key: str,
    status_code: int,
    headers: dict[str, str],
    body: bytes,
) -> None:
    """Keep the first response to a claimed key."""
    await repository.store(session, api_key_id, key, status_code, headers, body)
