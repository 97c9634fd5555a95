"""Every statement of matching: runs, triggers, the run lock, and the reads behind a snapshot
and a candidates explanation."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from shared.models import (
    Allocation,
    AllocationDay,
    CapacityOffer,
    MatchingRun,
    MatchingTrigger,
    WorkloadRequest,
)

# ---- locks -------------------------------------------------------------------------------


async def try_lock(session: AsyncSession, key: int) -> bool:
    """Take the transaction-level advisory lock `key` if it is free; whether it was."""
    return bool(await session.scalar(select(func.pg_try_advisory_xact_lock(key))))


# ---- runs --------------------------------------------------------------------------------


async def add_run(session: AsyncSession, run: MatchingRun, *, refresh: bool = False) -> None:
    """Insert a run (its defaults loaded when `refresh`)."""
    session.add(run)
    await session.flush()
    if refresh:
        await session.refresh(run)


async def get_run(
    session: AsyncSession, run_id: uuid.UUID, *, lock: bool = False, reload: bool = False
) -> MatchingRun | None:
    """One run (locked when `lock`; read again from the database when `reload`), or None."""
    return await session.get(MatchingRun, run_id, with_for_update=lock, populate_existing=reload)


async def claim_run(session: AsyncSession, run_id: uuid.UUID) -> MatchingRun | None:
    """The run, locked, unless another transaction holds it (then None)."""
    return (
        await session.execute(
            select(MatchingRun).where(MatchingRun.id == run_id).with_for_update(skip_locked=True)
        )
    ).scalar_one_or_none()


async def runs_before(
    session: AsyncSession, before: tuple[datetime, uuid.UUID] | None, limit: int
) -> list[MatchingRun]:
    """Up to `limit` runs, newest first, made before `before` (created_at, id)."""
    stmt = select(MatchingRun)
    if before is not None:
        stmt = stmt.where(tuple_(MatchingRun.created_at, MatchingRun.id) < tuple_(*before))
    stmt = stmt.order_by(MatchingRun.created_at.desc(), MatchingRun.id.desc()).limit(limit)
    return list(await session.scalars(stmt))


async def queued_before(session: AsyncSession, before: datetime) -> list[uuid.UUID]:
    """Runs still queued that were queued before `before`, oldest first."""
    return list(
        await session.scalars(
            select(MatchingRun.id)
            .where(MatchingRun.status == "queued", MatchingRun.created_at < before)
            .order_by(MatchingRun.created_at)
        )
    )


async def fail_running_since(
    session: AsyncSession, started_before: datetime, now: datetime, error: str
) -> int:
    """Mark runs `running` since before `started_before` as failed; how many."""
    result = await session.execute(
        update(MatchingRun)
        .where(MatchingRun.status == "running", MatchingRun.started_at < started_before)
        .values(status="failed", finished_at=now, error=error)
        .returning(MatchingRun.id)
    )
    return len(result.all())


# ---- triggers ----------------------------------------------------------------------------


async def add_trigger(session: AsyncSession, reason: str) -> None:
    """Record a pending trigger."""
    await session.execute(insert(MatchingTrigger).values(reason=reason))


async def claim_pending_triggers(session: AsyncSession) -> list[MatchingTrigger]:
    """The pending triggers no other transaction holds, locked, oldest first."""
    return list(
        await session.scalars(
            select(MatchingTrigger)
            .where(MatchingTrigger.run_id.is_(None))
            .order_by(MatchingTrigger.id)
            .with_for_update(skip_locked=True)
        )
    )


async def mark_handled(
    session: AsyncSession, trigger_ids: Sequence[int], run_id: uuid.UUID, now: datetime
) -> None:
    """Record that these triggers were handled by the run."""
    await session.execute(
        update(MatchingTrigger)
        .where(MatchingTrigger.id.in_(trigger_ids))
        .values(run_id=run_id, handled_at=now)
    )


async def pending_triggers(session: AsyncSession) -> int:
    """How many triggers wait for a run."""
    return (
        await session.scalar(
            select(func.count())
            .select_from(MatchingTrigger)
            .where(MatchingTrigger.run_id.is_(None))
        )
        or 0
    )


# ---- reads for the engine and for explanations ------------------------------------------


async def open_requests(
    session: AsyncSession, closed_statuses: Sequence[str]
) -> list[WorkloadRequest]:
    """Workload requests in none of `closed_statuses`, by id."""
    return list(
        await session.scalars(
            select(WorkloadRequest)
            .where(WorkloadRequest.status.not_in(closed_statuses))
            .order_by(WorkloadRequest.id)
        )
    )


async def active_offers(session: AsyncSession) -> list[CapacityOffer]:
    """Active capacity offers, by id."""
    return list(
        await session.scalars(
            select(CapacityOffer).where(CapacityOffer.status == "active").order_by(CapacityOffer.id)
        )
    )


async def get_request(session: AsyncSession, request_id: uuid.UUID) -> WorkloadRequest | None:
    """One workload request, or None."""
    return await session.get(WorkloadRequest, request_id)


async def offers_of_kind(session: AsyncSession, kind: str) -> list[CapacityOffer]:
    """Every capacity offer of this kind, by id."""
    return list(
        await session.scalars(
            select(CapacityOffer).where(CapacityOffer.kind == kind).order_by(CapacityOffer.id)
        )
    )


async def live_hours_of_offers(session: AsyncSession, offer_ids: Sequence[uuid.UUID]) -> Any:
    """Every live (proposed or accepted) hour of these offers, day by day: request_id,
    offer_id, status, day, hours and the priority of the request it serves."""
    return (
        await session.execute(
            select(
                Allocation.request_id,
                Allocation.offer_id,
                Allocation.status,
                AllocationDay.day,
                AllocationDay.hours,
                WorkloadRequest.priority,
            )
            .join(AllocationDay, AllocationDay.allocation_id == Allocation.id)
            .join(WorkloadRequest, WorkloadRequest.id == Allocation.request_id)
            .where(
                Allocation.offer_id.in_(offer_ids),
                Allocation.status.in_(("proposed", "accepted")),
            )
        )
    ).all()
