"""Writing to the change feed; entries get their feed position (`seq`) after commit."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

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
    await session.execute(
        insert(Change).values(
            resource_type=resource_type,
            resource_id=resource_id,
            op=op,
            version=version,
            data=data,
        )
    )
