"""Writing to the change feed; entries get their feed position (`seq`) after commit."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import bindparam, insert
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


# Every write appends one: compiled once (see shared/db/compiled.py).
_APPEND = Compiled(
    insert(Change).values(
        {
            name: bindparam(name, type_=Change.__table__.c[name].type)
            for name in ("resource_type", "resource_id", "op", "version", "data")
        }
    )
)
