"""Change feed tasks: number committed changes, forget old ones."""

from __future__ import annotations

from typing import Any

from shared import changefeed
from shared.db import session_scope


async def sequence(ctx: dict[str, Any]) -> int:
    """changes.sequence: give feed positions to changes committed since the last run."""
    async with session_scope(ctx["session_factory"], ctx.get("redis")) as session:
        return await changefeed.sequence_pending(session)


async def prune(ctx: dict[str, Any]) -> int:
    """changes.prune: remove entries older than CHANGES_RETENTION_DAYS."""
    async with session_scope(ctx["session_factory"], ctx.get("redis")) as session:
        return await changefeed.prune(session, ctx["settings"].changes_retention_days)
