"""Every statement on API keys."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shared.models import ApiKey
from shared.policy import Principal


async def add(session: AsyncSession, key: ApiKey) -> None:
    """Insert a key in a savepoint (a clash of names rolls back only the savepoint), then
    load its defaults (raises IntegrityError on a clash)."""
    session.add(key)
    async with session.begin_nested():
        await session.flush()
    await session.refresh(key)


async def list_newest_first(session: AsyncSession) -> list[ApiKey]:
    """Every key, newest first."""
    return list((await session.scalars(select(ApiKey).order_by(ApiKey.created_at.desc()))).all())


async def get(session: AsyncSession, key_id: uuid.UUID) -> ApiKey | None:
    """The key with this id, or None."""
    return await session.get(ApiKey, key_id)


async def by_name(session: AsyncSession, name: str) -> ApiKey | None:
    """The key with this name, or None."""
    return await session.scalar(select(ApiKey).where(ApiKey.name == name))


async def principal_by_hash(
    session: AsyncSession, key_hash: str
) -> tuple[Principal, datetime | None] | None:
    """The caller the unrevoked key with this hash stands for, and when it was last used."""
    row = (
        await session.execute(
            select(
                ApiKey.id, ApiKey.name, ApiKey.secretariat_code, ApiKey.scopes, ApiKey.last_used_at
            ).where(ApiKey.key_hash == key_hash, ApiKey.revoked_at.is_(None))
        )
    ).first()
    if row is None:
        return None
    return Principal(
        row.id, row.name, row.secretariat_code, frozenset(row.scopes)
    ), row.last_used_at


async def set_last_used(session: AsyncSession, key_id: uuid.UUID, at: datetime) -> None:
    """Record when a key was last used."""
    await session.execute(update(ApiKey).where(ApiKey.id == key_id).values(last_used_at=at))


async def active_key_hashes(session: AsyncSession) -> frozenset[str]:
    """The hash of every key that is not revoked (the API's edge refuses others unread)."""
    rows = await session.scalars(select(ApiKey.key_hash).where(ApiKey.revoked_at.is_(None)))
    return frozenset(rows.all())
