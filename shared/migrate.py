"""Apply and inspect Alembic migrations from code (`tandem migrate`, readiness, tests)."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import create_async_engine

ROOT = Path(__file__).resolve().parent.parent


def alembic_config(database_url: str) -> Config:
    """An Alembic config for this repository's migrations against `database_url`."""
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    cfg.attributes["database_url"] = database_url
    return cfg


def upgrade_head(database_url: str) -> int:
    """Apply every pending migration; return how many there were (Alembic logs only then)."""
    current = current_revision(database_url)
    script = ScriptDirectory.from_config(alembic_config(""))
    pending = list(script.iterate_revisions("head", current))
    if not pending:
        return 0
    alembic_log = logging.getLogger("alembic")
    quiet_level = alembic_log.level
    alembic_log.setLevel(logging.INFO)
    try:
        command.upgrade(alembic_config(database_url), "head")
    finally:
        alembic_log.setLevel(quiet_level)
    return len(pending)


def current_revision(database_url: str) -> str | None:
    """The revision the database is at (None: not migrated at all)."""

    async def read() -> str | None:
        engine = create_async_engine(database_url, pool_size=1)
        try:
            async with engine.connect() as conn:
                return await conn.run_sync(
                    lambda sync: MigrationContext.configure(sync).get_current_revision()
                )
        finally:
            await engine.dispose()

    return asyncio.run(read())


def head_revision() -> str | None:
    """The newest migration's revision id."""
    return ScriptDirectory.from_config(alembic_config("")).get_current_head()
