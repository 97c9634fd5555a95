"""The database's migration revision, read on a connection of its own."""

from __future__ import annotations

from sqlalchemy import column, select, table
from sqlalchemy.ext.asyncio import AsyncEngine

_ALEMBIC_VERSION = table("alembic_version", column("version_num"))


async def migration_revision(engine: AsyncEngine) -> str | None:
    """The revision Alembic last applied (raises when the database is unreachable)."""
    async with engine.connect() as connection:
        revision: str | None = await connection.scalar(select(_ALEMBIC_VERSION.c.version_num))
    return revision
