"""Workload request tasks: thin wrappers around shared.support.requests.service."""

from __future__ import annotations

from typing import Any

from services.worker.units import unit_of_work
from shared.support.requests import service


async def expire(ctx: dict[str, Any]) -> int:
    """workload_requests.expire: mark requests whose window has passed unfulfilled expired."""
    # The triggers and events are in the outbox; the jobs sent after commit wake their workers.
    async with unit_of_work(ctx) as session:
        expired = await service.expire_overdue(session)
    return len(expired)
