"""Matching tasks: thin wrappers around shared.matching.service."""

from __future__ import annotations

import uuid
from typing import Any

from shared.db import session_scope
from shared.matching import kick as kick_service
from shared.matching import service


async def run(ctx: dict[str, Any], run_id: str) -> str | None:
    """matching.run: carry out one queued matching run."""
    async with session_scope(ctx["session_factory"]) as session:
        result = await service.execute_run(session, uuid.UUID(run_id))
        return result.status if result else None


async def kick(ctx: dict[str, Any]) -> str | None:
    """matching.kick: handle every pending matching trigger (also run every minute)."""
    async with session_scope(ctx["session_factory"]) as session:
        result = await kick_service.sweep(session)
        return str(result.id) if result else None
