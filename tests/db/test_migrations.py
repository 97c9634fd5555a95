"""The ORM models and the migrations describe the same schema."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import AsyncEngine

import shared.models  # noqa: F401
from shared.db.base import Base


async def test_models_and_migrations_agree(engine: AsyncEngine) -> None:
    def diff(sync_conn):  # type: ignore[no-untyped-def]
        context = MigrationContext.configure(sync_conn, opts={"compare_type": True})
        return compare_metadata(context, Base.metadata)

    async with engine.connect() as conn:
        differences = await conn.run_sync(diff)
    assert differences == []


async def test_first_migration_holds_the_founding_secretariats(engine: AsyncEngine) -> None:
    from sqlalchemy import text

    async with engine.connect() as conn:
        rows = (
            await conn.execute(text("SELECT code, duty_station FROM secretariat ORDER BY code"))
        ).all()
    assert [tuple(r) for r in rows] == [("CITES", "CH GVA"), ("CMS", "DE BON")]
