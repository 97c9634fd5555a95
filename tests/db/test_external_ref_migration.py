"""The migration to per-secretariat external references keeps every reference, and its
downgrade keeps the oldest holder of a reference two secretariats came to share."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import asyncpg
from alembic import command

from shared.migrate import alembic_config
from tests.servers import database_url_for

if TYPE_CHECKING:  # imported for the annotation only: pytest would collect the class
    from tests.servers import TestServers

BEFORE, AFTER = "cal2", "ownref1"


def _run(dsn: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    async def go() -> list[asyncpg.Record]:
        conn = await asyncpg.connect(dsn)
        try:
            if not args and not sql.startswith("SELECT"):
                await conn.execute(sql)  # simple protocol: CREATE/DROP DATABASE
                return []
            return list(await conn.fetch(sql, *args))
        finally:
            await conn.close()

    return asyncio.run(go())


def _meeting(dsn: str, code: str, secretariat: str, ref_id: str, created: str) -> None:
    _run(
        dsn,
        "INSERT INTO meeting (code, title, secretariat_code, body, location, start_date,"
        " end_date, external_source, external_id, created_at)"
        " VALUES ($1, 'A meeting', $2, 'Standing Committee', 'CH GVA', '2030-03-01',"
        " '2030-03-05', 'calendar', $3, $4::text::timestamptz)",
        code,
        secretariat,
        ref_id,
        created,
    )


def _refs(dsn: str) -> dict[str, str | None]:
    rows = _run(dsn, "SELECT code, external_id FROM meeting ORDER BY code")
    return {r["code"]: r["external_id"] for r in rows}


def test_references_survive_the_upgrade_and_the_downgrade_keeps_the_oldest(
    servers: TestServers, run_id: str
) -> None:
    name = f"tandem_test_{run_id}_refs"
    admin = servers.admin_database_url.replace("postgresql+asyncpg://", "postgresql://", 1)
    _run(admin, f'CREATE DATABASE "{name}"')
    try:
        url = database_url_for(servers.admin_database_url, name)
        dsn = url.replace("postgresql+asyncpg://", "postgresql://", 1)
        config = alembic_config(url)
        command.upgrade(config, BEFORE)
        _meeting(dsn, "CITES SC1", "CITES", "m1", "2026-01-01T00:00:00Z")
        _meeting(dsn, "CMS StC1", "CMS", "m2", "2026-01-02T00:00:00Z")
        command.upgrade(config, AFTER)
        assert _refs(dsn) == {"CITES SC1": "m1", "CMS StC1": "m2"}
        # Now CMS may hold the reference CITES holds, for its own meeting.
        _meeting(dsn, "CMS StC2", "CMS", "m1", "2026-01-03T00:00:00Z")
        command.downgrade(config, BEFORE)
        assert _refs(dsn) == {"CITES SC1": "m1", "CMS StC1": "m2", "CMS StC2": None}
        command.upgrade(config, AFTER)
        assert _refs(dsn) == {"CITES SC1": "m1", "CMS StC1": "m2", "CMS StC2": None}
    finally:
        _run(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
