"""Writing to the change feed; entries get their feed position (`seq`) after commit."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Delete, Insert, Update, bindparam, insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db.compiled import Compiled
from shared.models import Change

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
    await _APPEND.execute(
        session,
        resource_type=resource_type,
        resource_id=resource_id,
        op=op,
        version=version,
        data=data,
    )


def with_write(write: Insert | Update | Delete, *more: Insert) -> Compiled:
    """One statement that makes `write` (and the inserts `more`, e.g. events.INSERT) and
    appends its change: round trips fewer.

    Run it with the write's parameters plus resource_type, resource_id, op, version, data.
    """
    statement = _APPEND_STATEMENT.add_cte(write.cte("write"))
    for n, extra in enumerate(more, 1):
        statement = statement.add_cte(extra.cte(f"write_{n}"))
    return Compiled(statement)


_APPEND_STATEMENT = insert(Change).values(
    {
        name: bindparam(name, type_=Change.__table__.c[name].type)
        for name in ("resource_type", "resource_id", "op", "version", "data")
    }
)
# Every write appends one: compiled once (see shared/db/compiled.py).
_APPEND = Compiled(_APPEND_STATEMENT)
