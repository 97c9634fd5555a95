"""Writing to the change feed; entries get their feed position (`seq`) after commit."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Delete, Insert, Update
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db.compiled import Compiled
from shared.feed import repository

RESOURCE_TYPES = ("activity", "meeting", "workload_request", "capacity_offer", "allocation")


async def record(
    session: AsyncSession,
    resource_type: str,
    resource_id: uuid.UUID,
    op: str,
    version: int,
    data: dict[str, Any] | None,
) -> None:
    """Append a change of one object, in the transaction that made it."""
    await repository.append_change(session, resource_type, resource_id, op, version, data)


def with_write(write: Insert | Update | Delete, *more: Insert) -> Compiled:
    """One statement that makes `write` (and the inserts `more`, e.g. events.INSERT) and
    appends its change: round trips fewer (for repositories building their statements).

    Run it with the write's parameters plus resource_type, resource_id, op, version, data.
    """
    return repository.with_change(write, *more)
