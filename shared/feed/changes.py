"""Writing to the change feed; entries get their feed position (`seq`) after commit."""

from __future__ import annotations

import uuid
from contextlib import AbstractAsyncContextManager
from typing import Any

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


def deferred(session: AsyncSession) -> AbstractAsyncContextManager[None]:
    """Within the block, changes, history entries and events are written at its end, one
    statement per kind (see shared/feed/repository.py)."""
    return repository.deferred(session)


def deferring(session: AsyncSession) -> bool:
    """Whether writes of this session are being deferred (see `deferred`)."""
    return repository.deferring(session)


def with_write(write: repository.Write, *more: repository.Insert) -> Compiled:
    """One statement that makes `write` (and the inserts `more`, e.g. events.INSERT) and
    appends its change: round trips fewer (for repositories building their statements).

    Run it with the write's parameters plus resource_type, resource_id, op, version, data.
    """
    return repository.with_change(write, *more)
