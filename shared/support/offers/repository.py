"""Every SQL statement about capacity offers, and how one is shown."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import crud
from shared.errors import NotFound
from shared.models import CapacityOffer
from shared.pagination import keyset_page, split_page


def to_api(o: Any) -> dict[str, Any]:
    """A capacity offer as the API shows it."""
    return {
        "id": o.id,
        "secretariat": o.secretariat_code,
        "kind": o.kind,
        "title": o.title,
        "description": o.description,
        "skills": o.skills,
        "start_date": o.start_date,
        "end_date": o.end_date,
        "hours_per_day": o.hours_per_day,
        "total_hours": o.total_hours,
        "location": o.location,
        "travel_ok": o.travel_ok,
        "unavailable_dates": list(o.unavailable_dates or []),
        "external_ref": crud.external_ref(o),
        "status": o.status,
        "hours_proposed": o.hours_proposed,
        "hours_accepted": o.hours_accepted,
        "version": o.version,
        "created_at": o.created_at,
        "updated_at": o.updated_at,
    }


OFFERS: crud.Resource[CapacityOffer] = crud.Resource(
    "capacity_offer",
    "capacity offer",
    "/v1/capacity-offers",
    CapacityOffer,
    to_api,
)


async def get(session: AsyncSession, offer_id: uuid.UUID) -> CapacityOffer:
    """An offer (not locked), or NotFound."""
    found = await session.get(CapacityOffer, offer_id)
    if found is None:
        raise NotFound(f"No capacity offer {offer_id}.")
    return found


async def by_ids(session: AsyncSession, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, CapacityOffer]:
    """These offers (not locked), by id."""
    rows = await session.scalars(select(CapacityOffer).where(CapacityOffer.id.in_(set(ids))))
    return {r.id: r for r in rows}


async def lock(
    session: AsyncSession, ids: Iterable[uuid.UUID], *, skip_locked: bool = False
) -> dict[uuid.UUID, CapacityOffer]:
    """Lock offers in id order (the fixed order every writer follows: offers, then
    requests, then allocations) and return them freshly read; with `skip_locked`, rows
    another transaction holds are left out instead of waited for."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = await session.scalars(
        select(CapacityOffer)
        .where(CapacityOffer.id.in_(wanted))
        .order_by(CapacityOffer.id)
        .with_for_update(skip_locked=skip_locked)
        .execution_options(populate_existing=True)
    )
    return {r.id: r for r in rows}


async def lock_one(session: AsyncSession, offer_id: uuid.UUID) -> CapacityOffer:
    """One offer, locked, or NotFound."""
    found = (await lock(session, [offer_id])).get(offer_id)
    if found is None:
        raise NotFound(f"No capacity offer {offer_id}.")
    return found


async def list_page(
    session: AsyncSession,
    *,
    secretariat: str | None = None,
    kind: str | None = None,
    status: str | None = None,
    skill: str | None = None,
    overlaps_from: date | None = None,
    overlaps_to: date | None = None,
    updated_since: datetime | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of offers in creation order, filtered."""
    stmt = select(CapacityOffer)
    if secretariat:
        stmt = stmt.where(CapacityOffer.secretariat_code == secretariat)
    if kind:
        stmt = stmt.where(CapacityOffer.kind == kind)
    if status:
        stmt = stmt.where(CapacityOffer.status == status)
    if skill:
        stmt = stmt.where(CapacityOffer.skills.contains([skill]))
    if overlaps_from:
        stmt = stmt.where(CapacityOffer.end_date >= overlaps_from)
    if overlaps_to:
        stmt = stmt.where(CapacityOffer.start_date <= overlaps_to)
    if updated_since:
        stmt = stmt.where(CapacityOffer.updated_at >= updated_since)
    stmt = keyset_page(stmt, CapacityOffer.created_at, CapacityOffer.id, cursor, limit)
    rows = list((await session.scalars(stmt)).all())
    page, next_cursor = split_page(rows, limit, lambda r: (r.created_at.isoformat(), str(r.id)))
    return [to_api(r) for r in page], next_cursor
