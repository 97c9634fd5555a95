"""Workload request tasks: thin wrappers around shared.support.requests.service."""

from __future__ import annotations

from typing import Any

from shared.db import session_scope
from shared.support.requests import service


async def expire(ctx: dict[str, Any]) -> int:
    """workload_requests.expire: mark requests whose window has passed unfulfilled expired."""
    # The triggers and events are in the outbox; the jobs sent after commit wake their workers.
    async with session_scope(ctx["session_factory"], ctx.get("redis")) as session:
        expired = await service.expire_overdue(session)
    return len(expired)
