"""Every SQL statement about workload requests, and how one is shown."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import crud
from shared.errors import NotFound
from shared.models import WorkloadRequest
from shared.pagination import keyset_page, split_page


def to_api(r: Any) -> dict[str, Any]:
    """A workload request as the API shows it."""
    return {
        "id": r.id,
        "secretariat": r.secretariat_code,
        "kind": r.kind,
        "title": r.title,
        "description": r.description,
        "skills": r.skills,
        "start_date": r.start_date,
        "end_date": r.end_date,
        "hours": r.hours,
        "priority": r.priority,
        "on_site": r.on_site,
        "location": r.location,
        "meeting_code": r.meeting_code,
        "activity_id": r.activity_id,
        "external_ref": crud.external_ref(r),
        "status": r.status,
        "hours_proposed": r.hours_proposed,
        "hours_accepted": r.hours_accepted,
        "version": r.version,
        "created_at": r.created_at,
        "updated_at": r.updated_at,
    }


REQUESTS: crud.Resource[WorkloadRequest] = crud.Resource(
    "workload_request",
    "workload request",
    "/v1/workload-requests",
    WorkloadRequest,
    to_api,
)


async def get(session: AsyncSession, request_id: uuid.UUID) -> WorkloadRequest:
    """A request (not locked), or NotFound."""
    found = await session.get(WorkloadRequest, request_id)
    if found is None:
        raise NotFound(f"No workload request {request_id}.")
    return found


async def by_ids(
    session: AsyncSession, ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, WorkloadRequest]:
    """These requests (not locked), by id."""
    rows = await session.scalars(select(WorkloadRequest).where(WorkloadRequest.id.in_(set(ids))))
    return {r.id: r for r in rows}


async def lock(
    session: AsyncSession, ids: Iterable[uuid.UUID], *, skip_locked: bool = False
) -> dict[uuid.UUID, WorkloadRequest]:
    """Lock requests in id order (the fixed order every writer follows: offers, then
    requests, then allocations) and return them freshly read; with `skip_locked`, rows
    another transaction holds are left out instead of waited for."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = await session.scalars(
        select(WorkloadRequest)
        .where(WorkloadRequest.id.in_(wanted))
        .order_by(WorkloadRequest.id)
        .with_for_update(skip_locked=skip_locked)
        .execution_options(populate_existing=True)
    )
    return {r.id: r for r in rows}


async def lock_one(session: AsyncSession, request_id: uuid.UUID) -> WorkloadRequest:
    """One request, locked, or NotFound."""
    found = (await lock(session, [request_id])).get(request_id)
    if found is None:
        raise NotFound(f"No workload request {request_id}.")
    return found


async def overdue(session: AsyncSession, today: date) -> list[WorkloadRequest]:
    """Requests whose window ended before `today` and that are neither fulfilled nor closed,
    locked (rows another transaction holds are left for the next sweep)."""
    rows = await session.scalars(
        select(WorkloadRequest)
        .where(
            WorkloadRequest.end_date < today,
            WorkloadRequest.status.not_in(("fulfilled", "cancelled", "expired")),
        )
        .order_by(WorkloadRequest.id)
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    )
    return list(rows)


async def list_page(
    session: AsyncSession,
    *,
    secretariat: str | None = None,
    kind: str | None = None,
    status: str | None = None,
    skill: str | None = None,
    meeting_code: str | None = None,
    activity_id: uuid.UUID | None = None,
    overlaps_from: date | None = None,
    overlaps_to: date | None = None,
    updated_since: datetime | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of requests in creation order, filtered."""
    stmt = select(WorkloadRequest)
    if secretariat:
        stmt = stmt.where(WorkloadRequest.secretariat_code == secretariat)
    if kind:
        stmt = stmt.where(WorkloadRequest.kind == kind)
    if status:
        stmt = stmt.where(WorkloadRequest.status == status)
    if skill:
        stmt = stmt.where(WorkloadRequest.skills.contains([skill]))
    if meeting_code:
        stmt = stmt.where(WorkloadRequest.meeting_code == meeting_code)
    if activity_id:
        stmt = stmt.where(WorkloadRequest.activity_id == activity_id)
    if overlaps_from:
        stmt = stmt.where(WorkloadRequest.end_date >= overlaps_from)
    if overlaps_to:
        stmt = stmt.where(WorkloadRequest.start_date <= overlaps_to)
    if updated_since:
        stmt = stmt.where(WorkloadRequest.updated_at >= updated_since)
    stmt = keyset_page(stmt, WorkloadRequest.created_at, WorkloadRequest.id, cursor, limit)
    rows = list((await session.scalars(stmt)).all())
    page, next_cursor = split_page(rows, limit, lambda r: (r.created_at.isoformat(), str(r.id)))
    return [to_api(r) for r in page], next_cursor
