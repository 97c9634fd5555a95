"""Workload request tasks: thin wrappers around shared.requests.service."""

from __future__ import annotations

from typing import Any

from shared import queue
from shared.db import session_scope
from shared.requests import service


async def expire(ctx: dict[str, Any]) -> int:
    """workload_requests.expire: mark requests whose window has passed unfulfilled expired."""
    async with session_scope(ctx["session_factory"]) as session:
        expired = await service.expire_overdue(session)
    # The triggers and events are in the outbox already; this only wakes their workers.
    await queue.send(ctx.get("redis"), queue.take_pending(session))
    return len(expired)
