"""Every SQL statement of the forecast: meetings with their linked requests, capacity."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.forecast.model import Meeting, PastRequest
from shared.models import Allocation, AllocationDay, CapacityOffer, WorkloadRequest
from shared.models import Meeting as MeetingRow


@dataclass(frozen=True, slots=True)
class MeetingInfo:
    """A meeting's identity as the forecast shows it."""

    code: str
    title: str
    body: str
    secretariat: str
    start: date
    end: date


@dataclass(frozen=True, slots=True)
class OfferWindow:
    """An active offer's capacity as the shortfall counts it."""

    secretariat: str
    kind: str
    skills: frozenset[str]
    start: date
    end: date
    hours_per_day: int
    total_left: int


async def meetings(
    session: AsyncSession,
    secretariats: list[str] | None = None,
    before: date | None = None,
) -> list[Meeting]:
    """Scheduled meetings (of `secretariats`, starting before `before`) with the requests
    linked to them (cancelled requests left out), oldest first."""
    stmt = select(
        MeetingRow.code,
        MeetingRow.body,
        MeetingRow.secretariat_code,
        MeetingRow.start_date,
        MeetingRow.end_date,
    ).where(MeetingRow.status == "scheduled")
    if secretariats is not None:
        stmt = stmt.where(MeetingRow.secretariat_code.in_(secretariats))
    if before is not None:
        stmt = stmt.where(MeetingRow.start_date < before)
    rows = (await session.execute(stmt.order_by(MeetingRow.start_date, MeetingRow.code))).all()
    codes = [r[0] for r in rows]
    linked: dict[str, list[PastRequest]] = defaultdict(list)
    if codes:
        reqs = await session.execute(
            select(
                WorkloadRequest.meeting_code,
                WorkloadRequest.kind,
                WorkloadRequest.skills,
                WorkloadRequest.hours,
                WorkloadRequest.start_date,
                WorkloadRequest.end_date,
            ).where(WorkloadRequest.meeting_code.in_(codes), WorkloadRequest.status != "cancelled")
        )
        for code, kind, skills, hours, start, end in reqs.all():
            linked[code or ""].append(
                PastRequest(kind, tuple(sorted(skills)), float(hours), start, end)
            )
    return [
        Meeting(code, body, sec, start, end, tuple(linked.get(code, ())))
        for code, body, sec, start, end in rows
    ]


async def meeting_info(session: AsyncSession, code: str) -> MeetingInfo | None:
    """A scheduled or cancelled meeting by its code, or None."""
    row = (
        await session.execute(
            select(
                MeetingRow.code,
                MeetingRow.title,
                MeetingRow.body,
                MeetingRow.secretariat_code,
                MeetingRow.start_date,
                MeetingRow.end_date,
            ).where(MeetingRow.code == code)
        )
    ).first()
    return MeetingInfo(*row) if row is not None else None


async def upcoming(
    session: AsyncSession, secretariat: str | None, start: date, end: date
) -> list[MeetingInfo]:
    """Scheduled meetings that open from `start` to `end`."""
    stmt = select(
        MeetingRow.code,
        MeetingRow.title,
        MeetingRow.body,
        MeetingRow.secretariat_code,
        MeetingRow.start_date,
        MeetingRow.end_date,
    ).where(
        MeetingRow.status == "scheduled",
        MeetingRow.start_date >= start,
        MeetingRow.start_date <= end,
    )
    if secretariat is not None:
        stmt = stmt.where(MeetingRow.secretariat_code == secretariat)
    rows = (await session.execute(stmt.order_by(MeetingRow.start_date, MeetingRow.code))).all()
    return [MeetingInfo(*r) for r in rows]


async def offers(session: AsyncSession, start: date, end: date) -> list[OfferWindow]:
    """Active offers whose window overlaps start..end."""
    rows = await session.execute(
        select(
            CapacityOffer.secretariat_code,
            CapacityOffer.kind,
            CapacityOffer.skills,
            CapacityOffer.start_date,
            CapacityOffer.end_date,
            CapacityOffer.hours_per_day,
            CapacityOffer.total_hours - CapacityOffer.hours_accepted,
        ).where(
            CapacityOffer.status == "active",
            CapacityOffer.start_date <= end,
            CapacityOffer.end_date >= start,
        )
    )
    return [
        OfferWindow(sec, kind, frozenset(s.strip().casefold() for s in skills), a, b, hpd, left)
        for sec, kind, skills, a, b, hpd, left in rows.all()
    ]


async def accepted_days(
    session: AsyncSession, start: date, end: date
) -> list[tuple[str, str, tuple[str, ...], date, int]]:
    """Accepted hours per day from start to end: (request's secretariat, kind, skills, day,
    hours)."""
    rows = await session.execute(
        select(
            WorkloadRequest.secretariat_code,
            WorkloadRequest.kind,
            WorkloadRequest.skills,
            AllocationDay.day,
            func.sum(AllocationDay.hours),
        )
        .join(Allocation, Allocation.id == AllocationDay.allocation_id)
        .join(WorkloadRequest, WorkloadRequest.id == Allocation.request_id)
        .where(
            and_(
                Allocation.status == "accepted",
                AllocationDay.day >= start,
                AllocationDay.day <= end,
            )
        )
        .group_by(
            WorkloadRequest.secretariat_code,
            WorkloadRequest.kind,
            WorkloadRequest.skills,
            AllocationDay.day,
        )
    )
    return [(s, k, tuple(sk), d, int(h)) for s, k, sk, d, h in rows.all()]


async def add_past_request(session: AsyncSession, source: str, values: dict[str, object]) -> bool:
    """Insert a past request linked to a meeting unless one with its external id exists."""
    ext_id = values["external_id"]
    found = await session.scalar(
        select(WorkloadRequest.id).where(
            WorkloadRequest.external_source == source, WorkloadRequest.external_id == ext_id
        )
    )
    if found is not None:
        return False
    session.add(WorkloadRequest(**values, external_source=source))
    await session.flush()
    return True
