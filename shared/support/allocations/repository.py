"""Every SQL statement about allocations, their days and declined pairs.

The figures matching needs are one query each: accepted hours per (offer, day), per offer,
per request; the declined pairs; the current proposals day by day.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any, cast

from sqlalchemy import Table, delete, func, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from shared.db import crud
from shared.errors import NotFound
from shared.models import (
    Allocation,
    AllocationDay,
    CapacityOffer,
    DeclinedPair,
    WorkloadRequest,
)
from shared.models.allocation import LIVE_STATUSES
from shared.pagination import keyset_page, split_page

Pair = tuple[uuid.UUID, uuid.UUID]


def to_api(a: Allocation) -> dict[str, Any]:
    """An allocation as the API shows it, with its day-by-day schedule."""
    return {
        "id": a.id,
        "request_id": a.request_id,
        "offer_id": a.offer_id,
        "hours": a.hours,
        "days": [{"date": d.day, "hours": d.hours} for d in sorted(a.days, key=lambda d: d.day)],
        "travel": a.travel,
        "status": a.status,
        "matching_run_id": a.matching_run_id,
        "decided_at": a.decided_at,
        "decided_by": a.decided_by,
        "reason": a.reason,
        "version": a.version,
        "created_at": a.created_at,
        "updated_at": a.updated_at,
    }


ALLOCATIONS: crud.Resource[Allocation] = crud.Resource(
    "allocation", "allocation", "/v1/allocations", Allocation, to_api
)


def _with_days() -> Any:
    return select(Allocation).options(selectinload(Allocation.days))


async def get(session: AsyncSession, allocation_id: uuid.UUID, *, lock: bool = False) -> Allocation:
    """An allocation with its days, or NotFound; `lock` takes its row lock."""
    stmt = _with_days().where(Allocation.id == allocation_id)
    if lock:
        stmt = stmt.with_for_update(of=Allocation)
    found = (await session.scalars(stmt.execution_options(populate_existing=True))).one_or_none()
    if found is None:
        raise NotFound(f"No allocation {allocation_id}.")
    return found


async def live(
    session: AsyncSession,
    *,
    request_id: uuid.UUID | None = None,
    offer_id: uuid.UUID | None = None,
    ids: Collection[uuid.UUID] | None = None,
    statuses: tuple[str, ...] = LIVE_STATUSES,
    lock: bool = False,
) -> list[Allocation]:
    """Allocations in `statuses` (proposed or accepted), of one request or offer or all
    (or those of `ids`), with their days, in id order (locked in that order with `lock`)."""
    if ids is not None and not ids:
        return []
    stmt = _with_days().where(Allocation.status.in_(statuses))
    if ids is not None:
        stmt = stmt.where(Allocation.id.in_(sorted(ids)))
    if request_id is not None:
        stmt = stmt.where(Allocation.request_id == request_id)
    if offer_id is not None:
        stmt = stmt.where(Allocation.offer_id == offer_id)
    stmt = stmt.order_by(Allocation.id)
    if lock:
        stmt = stmt.with_for_update(of=Allocation)
    return list(await session.scalars(stmt.execution_options(populate_existing=True)))


async def parties_of_live(
    session: AsyncSession,
    *,
    request_id: uuid.UUID | None = None,
    offer_id: uuid.UUID | None = None,
    statuses: tuple[str, ...] = LIVE_STATUSES,
) -> tuple[set[uuid.UUID], set[uuid.UUID]]:
    """The request ids and offer ids of live allocations (to lock them before the rows)."""
    stmt = select(Allocation.request_id, Allocation.offer_id).where(Allocation.status.in_(statuses))
    if request_id is not None:
        stmt = stmt.where(Allocation.request_id == request_id)
    if offer_id is not None:
        stmt = stmt.where(Allocation.offer_id == offer_id)
    rows = (await session.execute(stmt)).all()
    return {r.request_id for r in rows}, {r.offer_id for r in rows}


@dataclass(frozen=True, slots=True)
class Proposed:
    """A proposal in force as a run compares it: its pair, hours, travel and days by date."""

    id: uuid.UUID
    request_id: uuid.UUID
    offer_id: uuid.UUID
    hours: int
    travel: bool
    days: tuple[tuple[date, int], ...]


async def lock_proposed(session: AsyncSession) -> list[Proposed]:
    """Every proposed allocation with its days, locked in id order, as plain rows (a run
    that keeps most proposals compares them without loading a mapped object per day)."""
    rows = await session.execute(
        select(
            Allocation.id,
            Allocation.request_id,
            Allocation.offer_id,
            Allocation.hours,
            Allocation.travel,
            AllocationDay.day,
            AllocationDay.hours,
        )
        .outerjoin(AllocationDay, AllocationDay.allocation_id == Allocation.id)
        .where(Allocation.status == "proposed")
        .order_by(Allocation.id, AllocationDay.day)
        .with_for_update(of=Allocation)
    )
    heads: dict[uuid.UUID, tuple[uuid.UUID, uuid.UUID, int, bool]] = {}
    days: dict[uuid.UUID, list[tuple[date, int]]] = defaultdict(list)
    for allocation_id, request_id, offer_id, hours, travel, day, day_hours in rows:
        heads.setdefault(allocation_id, (request_id, offer_id, hours, travel))
        if day is not None:
            days[allocation_id].append((day, day_hours))
    return [
        Proposed(i, request_id, offer_id, hours, travel, tuple(days[i]))
        for i, (request_id, offer_id, hours, travel) in heads.items()
    ]


async def insert_proposed(
    session: AsyncSession,
    run_id: uuid.UUID | None,
    proposals: Iterable[tuple[uuid.UUID, uuid.UUID, int, bool, Iterable[tuple[date, int]]]],
) -> list[dict[str, Any]]:
    """Insert proposed allocations (request_id, offer_id, hours, travel, days) with their
    days, in that order, a statement for all allocations and one for all days; each as the
    API shows it."""
    now = await session.scalar(select(func.now()))
    rows: list[dict[str, Any]] = []
    day_rows: list[dict[str, Any]] = []
    shown: list[dict[str, Any]] = []
    for request_id, offer_id, hours, travel, days in proposals:
        allocation_id = uuid.uuid4()
        schedule = sorted(days)
        rows.append(
            {
                "id": allocation_id,
                "request_id": request_id,
                "offer_id": offer_id,
                "hours": hours,
                "travel": travel,
                "status": "proposed",
                "matching_run_id": run_id,
                "version": 1,
                "created_at": now,
                "updated_at": now,
            }
        )
        day_rows.extend({"allocation_id": allocation_id, "day": d, "hours": h} for d, h in schedule)
        shown.append(
            {
                "id": allocation_id,
                "request_id": request_id,
                "offer_id": offer_id,
                "hours": hours,
                "days": [{"date": d, "hours": h} for d, h in schedule],
                "travel": travel,
                "status": "proposed",
                "matching_run_id": run_id,
                "decided_at": None,
                "decided_by": None,
                "reason": None,
                "version": 1,
                "created_at": now,
                "updated_at": now,
            }
        )
    if rows:
        await session.execute(insert(cast(Table, Allocation.__table__)), rows)
        await session.execute(insert(cast(Table, AllocationDay.__table__)), day_rows)
    return shown


async def _hours_by(
    session: AsyncSession, column: Any, ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, dict[str, int]]:
    wanted = list(set(ids))
    out: dict[uuid.UUID, dict[str, int]] = {i: {"proposed": 0, "accepted": 0} for i in wanted}
    if not wanted:
        return out
    rows = await session.execute(
        select(column, Allocation.status, func.sum(Allocation.hours))
        .where(column.in_(wanted), Allocation.status.in_(LIVE_STATUSES))
        .group_by(column, Allocation.status)
    )
    for ident, status, hours in rows:
        out[ident][status] = int(hours)
    return out


async def figures_by_request(
    session: AsyncSession, request_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, dict[str, int]]:
    """Proposed and accepted hours of each request: {id: {"proposed": h, "accepted": h}}."""
    return await _hours_by(session, Allocation.request_id, request_ids)


async def figures_by_offer(
    session: AsyncSession, offer_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, dict[str, int]]:
    """Proposed and accepted hours of each offer: {id: {"proposed": h, "accepted": h}}."""
    return await _hours_by(session, Allocation.offer_id, offer_ids)


async def accepted_by_offer_day(
    session: AsyncSession, offer_ids: Iterable[uuid.UUID] | None = None
) -> dict[tuple[uuid.UUID, date], int]:
    """Accepted hours per (offer, day), of the given offers or of all."""
    stmt = (
        select(Allocation.offer_id, AllocationDay.day, func.sum(AllocationDay.hours))
        .join(AllocationDay, AllocationDay.allocation_id == Allocation.id)
        .where(Allocation.status == "accepted")
        .group_by(Allocation.offer_id, AllocationDay.day)
    )
    if offer_ids is not None:
        stmt = stmt.where(Allocation.offer_id.in_(list(offer_ids)))
    rows = await session.execute(stmt)
    return {(offer_id, day): int(hours) for offer_id, day, hours in rows}


async def accepted_by_offer(
    session: AsyncSession, offer_ids: Iterable[uuid.UUID] | None = None
) -> dict[uuid.UUID, int]:
    """Accepted hours per offer (offers with none are absent)."""
    stmt = (
        select(Allocation.offer_id, func.sum(Allocation.hours))
        .where(Allocation.status == "accepted")
        .group_by(Allocation.offer_id)
    )
    if offer_ids is not None:
        stmt = stmt.where(Allocation.offer_id.in_(list(offer_ids)))
    return {o: int(h) for o, h in (await session.execute(stmt))}


async def accepted_by_request(
    session: AsyncSession, request_ids: Iterable[uuid.UUID] | None = None
) -> dict[uuid.UUID, int]:
    """Accepted hours per request (requests with none are absent)."""
    stmt = (
        select(Allocation.request_id, func.sum(Allocation.hours))
        .where(Allocation.status == "accepted")
        .group_by(Allocation.request_id)
    )
    if request_ids is not None:
        stmt = stmt.where(Allocation.request_id.in_(list(request_ids)))
    return {r: int(h) for r, h in (await session.execute(stmt))}


async def accepted_pairs(session: AsyncSession) -> set[Pair]:
    """(request_id, offer_id) pairs that have at least one accepted allocation."""
    rows = await session.execute(
        select(Allocation.request_id, Allocation.offer_id).where(Allocation.status == "accepted")
    )
    return {(r, o) for r, o in rows}


async def current_proposals(session: AsyncSession) -> dict[Pair, dict[date, int]]:
    """The proposals in force, day by day: {(request_id, offer_id): {day: hours}}."""
    rows = await session.execute(
        select(Allocation.request_id, Allocation.offer_id, AllocationDay.day, AllocationDay.hours)
        .join(AllocationDay, AllocationDay.allocation_id == Allocation.id)
        .where(Allocation.status == "proposed")
    )
    out: dict[Pair, dict[date, int]] = defaultdict(dict)
    for request_id, offer_id, day, hours in rows:
        out[(request_id, offer_id)][day] = hours
    return dict(out)


async def banned_pairs(session: AsyncSession) -> set[Pair]:
    """(request_id, offer_id) pairs declined before and not lifted by an edit since."""
    rows = await session.execute(select(DeclinedPair.request_id, DeclinedPair.offer_id))
    return {(r, o) for r, o in rows}


async def is_banned(session: AsyncSession, request_id: uuid.UUID, offer_id: uuid.UUID) -> bool:
    """True when the pair was declined and not lifted since."""
    found = await session.scalar(
        select(DeclinedPair.allocation_id).where(
            DeclinedPair.request_id == request_id, DeclinedPair.offer_id == offer_id
        )
    )
    return found is not None


async def ban(session: AsyncSession, allocation: Allocation, actor: str) -> None:
    """Ban the allocation's pair from matching (the latest decline is the one kept)."""
    stmt = insert(DeclinedPair).values(
        request_id=allocation.request_id,
        offer_id=allocation.offer_id,
        allocation_id=allocation.id,
        declined_by=actor,
    )
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[DeclinedPair.request_id, DeclinedPair.offer_id],
            set_={
                "allocation_id": stmt.excluded.allocation_id,
                "declined_by": stmt.excluded.declined_by,
                "declined_at": func.now(),
            },
        )
    )


async def lift_bans(
    session: AsyncSession,
    *,
    request_id: uuid.UUID | None = None,
    offer_id: uuid.UUID | None = None,
) -> int:
    """Forget the declines of a request or an offer; returns how many pairs were freed."""
    stmt = delete(DeclinedPair)
    if request_id is not None:
        stmt = stmt.where(DeclinedPair.request_id == request_id)
    if offer_id is not None:
        stmt = stmt.where(DeclinedPair.offer_id == offer_id)
    result = await session.execute(stmt.returning(DeclinedPair.request_id))
    return len(result.all())


async def list_page(
    session: AsyncSession,
    *,
    request_id: uuid.UUID | None = None,
    offer_id: uuid.UUID | None = None,
    status: str | None = None,
    secretariat: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of allocations in creation order, filtered."""
    stmt = _with_days()
    if request_id:
        stmt = stmt.where(Allocation.request_id == request_id)
    if offer_id:
        stmt = stmt.where(Allocation.offer_id == offer_id)
    if status:
        stmt = stmt.where(Allocation.status == status)
    if secretariat:
        on_request = select(WorkloadRequest.id).where(
            WorkloadRequest.secretariat_code == secretariat
        )
        on_offer = select(CapacityOffer.id).where(CapacityOffer.secretariat_code == secretariat)
        stmt = stmt.where(
            or_(Allocation.request_id.in_(on_request), Allocation.offer_id.in_(on_offer))
        )
    stmt = keyset_page(stmt, Allocation.created_at, Allocation.id, cursor, limit)
    rows = list((await session.scalars(stmt)).all())
    page, next_cursor = split_page(rows, limit, lambda a: (a.created_at.isoformat(), str(a.id)))
    return [to_api(a) for a in page], next_cursor


async def exists(session: AsyncSession, allocation_id: uuid.UUID) -> bool:
    """True when the allocation is stored (dropped proposals are not)."""
    found = await session.scalar(select(Allocation.id).where(Allocation.id == allocation_id))
    return found is not None
