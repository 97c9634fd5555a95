"""Events for other systems, written in the transaction that caused them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared import queue
from shared.models import Event

EVENT_TYPES = (
    "allocation.proposed",
    "allocation.accepted",
    "allocation.declined",
    "allocation.cancelled",
    "workload_request.matched",
    "workload_request.fulfilled",
    "workload_request.expired",
    "activity.changed",
)
DELIVER_TASK = "webhooks.deliver"


async def emit(session: AsyncSession, event_type: str, data: dict[str, Any]) -> None:
    """Record an event; the worker delivers it to subscribers after commit."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type}")
    await session.execute(insert(Event).values(type=event_type, data=data))
    queue.enqueue_after_commit(session, DELIVER_TASK)
