"""SQL of API keys that the API's edge runs outside any request's transaction."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.models import ApiKey


async def active_key_hashes(session: AsyncSession) -> frozenset[str]:
    """The hash of every key that is not revoked."""
    rows = await session.scalars(select(ApiKey.key_hash).where(ApiKey.revoked_at.is_(None)))
    return frozenset(rows.all())
