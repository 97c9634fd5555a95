"""Every statement on meetings, and the one mapping from a meeting row to the API's form."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import crud
from shared.models import Activity, Meeting
from shared.pagination import keyset_page


def to_api(m: Any) -> dict[str, Any]:
    """A meeting as the API shows it."""
    return {
        "id": m.id,
        "code": m.code,
        "title": m.title,
        "secretariat": m.secretariat_code,
        "body": m.body,
        "location": m.location,
        "start_date": m.start_date,
        "end_date": m.end_date,
        "status": m.status,
        "external_ref": crud.external_ref(m),
        "version": m.version,
        "created_at": m.created_at,
        "updated_at": m.updated_at,
    }


async def find(session: AsyncSession, ident: str, *, lock: bool = False) -> Meeting | None:
    """A meeting by id, or by code when `ident` is not a UUID (locked when `lock`)."""
    stmt = select(Meeting)
    try:
        stmt = stmt.where(Meeting.id == uuid.UUID(ident))
    except ValueError:
        stmt = stmt.where(Meeting.code == ident)
    if lock:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def id_of_code(session: AsyncSession, code: str) -> uuid.UUID | None:
    """The id of the meeting with this code, or None."""
    return await session.scalar(select(Meeting.id).where(Meeting.code == code))


async def activities_reporting_to(session: AsyncSession, code: str) -> int:
    """How many joint activities are reported to the meeting with this code."""
    return (
        await session.scalar(
            select(func.count())
            .select_from(Activity)
            .where(Activity.meeting_codes.contains([code]))
        )
        or 0
    )


async def page(
    session: AsyncSession,
    *,
    secretariat: str | None,
    status: str | None,
    overlaps_from: date | None,
    overlaps_to: date | None,
    updated_since: datetime | None,
    cursor: str | None,
    limit: int,
) -> list[Meeting]:
    """Up to limit + 1 meetings in creation order after `cursor`, filtered."""
    stmt = select(Meeting)
    if secretariat:
        stmt = stmt.where(Meeting.secretariat_code == secretariat)
    if status:
        stmt = stmt.where(Meeting.status == status)
    if overlaps_from:
        stmt = stmt.where(Meeting.end_date >= overlaps_from)
    if overlaps_to:
        stmt = stmt.where(Meeting.start_date <= overlaps_to)
    if updated_since:
        stmt = stmt.where(Meeting.updated_at >= updated_since)
    stmt = keyset_page(stmt, Meeting.created_at, Meeting.id, cursor, limit)
    return list((await session.scalars(stmt)).all())


async def existing_codes(session: AsyncSession, codes: list[str]) -> set[str]:
    """Which of `codes` are meeting codes."""
    return set((await session.scalars(select(Meeting.code).where(Meeting.code.in_(codes)))).all())
