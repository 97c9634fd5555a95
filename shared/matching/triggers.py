"""Matching triggers: durable in PostgreSQL, coalesced by the next run."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from shared import queue
from shared.matching import repository

KICK_TASK = "matching.kick"


async def trigger(session: AsyncSession, reason: str) -> None:
    """Ask for a matching run because of `reason` (e.g. 'workload_request.created <id>')."""
    await repository.add_trigger(session, reason[:200])
    queue.enqueue_after_commit(session, KICK_TASK)
