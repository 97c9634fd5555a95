"""Events for other systems, written in the transaction that caused them."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from shared import queue
from shared.feed import repository

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
    _check(event_type)
    await repository.add_event(session, event_type, data)
    queue.enqueue_after_commit(session, DELIVER_TASK)


# An event row written by a statement of its own making (bind event_type and event_data),
# e.g. alongside the write that causes it: see changes.with_write.
INSERT = repository.EVENT_INSERT


def emitted(session: AsyncSession, event_type: str) -> None:
    """Have an event that a statement wrote with INSERT delivered after commit."""
    _check(event_type)
    queue.enqueue_after_commit(session, DELIVER_TASK)


def _check(event_type: str) -> None:
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type}")
