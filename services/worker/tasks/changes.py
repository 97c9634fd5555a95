"""Change feed tasks: number committed changes, forget old ones."""

from __future__ import annotations

from typing import Any

from services.worker.units import unit_of_work
from shared.feed import changefeed


async def sequence(ctx: dict[str, Any]) -> int:
    """changes.sequence: give feed positions to changes committed since the last run."""
    async with unit_of_work(ctx) as session:
        return await changefeed.sequence_pending(session)


async def prune(ctx: dict[str, Any]) -> int:
    """changes.prune: remove entries older than CHANGES_RETENTION_DAYS."""
    async with unit_of_work(ctx) as session:
        return await changefeed.prune(session, ctx["settings"].changes_retention_days)
