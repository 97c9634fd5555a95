"""Every statement on idempotency records."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.models import IdempotencyRecord


async def forget_older_than(
    session: AsyncSession, api_key_id: uuid.UUID, key: str, before: datetime
) -> None:
    """Delete the key's record when it was made before `before` (the key may be used again)."""
    await session.execute(
        delete(IdempotencyRecord).where(
            IdempotencyRecord.api_key_id == api_key_id,
            IdempotencyRecord.key == key,
            IdempotencyRecord.created_at < before,
        )
    )


async def claim(session: AsyncSession, api_key_id: uuid.UUID, key: str, request_hash: str) -> bool:
    """Insert the key's placeholder record; False when one exists.

    The placeholder row is the lock: a concurrent request with the same key blocks on it
    until this transaction commits (then replays) or rolls back (then runs itself).
    """
    claimed = await session.execute(
        insert(IdempotencyRecord)
        .values(
            api_key_id=api_key_id,
            key=key,
            request_hash=request_hash,
            status_code=0,
            headers={},
            body=b"",
        )
        .on_conflict_do_nothing()
        .returning(IdempotencyRecord.key)
    )
    return claimed.first() is not None


async def get(session: AsyncSession, api_key_id: uuid.UUID, key: str) -> IdempotencyRecord:
    """The key's record (it exists: `claim` said so in this transaction)."""
    return (
        await session.execute(
            select(IdempotencyRecord).where(
                IdempotencyRecord.api_key_id == api_key_id, IdempotencyRecord.key == key
            )
        )
    ).scalar_one()


async def store(
    session: AsyncSession,
    api_key_id: uuid.UUID,
    key: str,
    status_code: int,
    headers: dict[str, Any],
    body: bytes,
) -> None:
    """Keep the response the key's request produced."""
    await session.execute(
        update(IdempotencyRecord)
        .where(IdempotencyRecord.api_key_id == api_key_id, IdempotencyRecord.key == key)
        .values(status_code=status_code, headers=headers, body=body)
    )
