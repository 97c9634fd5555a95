"""Explanations: for one workload request, every capacity offer of its kind, whether it is
eligible, the first rule that excludes it, and where an eligible offer's hours went.

Rules are checked in matching.md's order (kind, skills, same secretariat, declined, place,
a common working weekday, then a usable day: `days_off` when the only common working
weekdays are holidays or closures of either secretariat or days the offer's people are
away, each named); then `offer_withdrawn` and `no_capacity_left` (no hours left in total,
or none on any common working day, net of accepted allocations). For an eligible offer
with no proposed or accepted hours for the request, the hours the offer gives on the
request's common working days are split by the weight of the requests they go to
(higher, equal or lower than this request's), from the proposals in force and the
accepted allocations.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from shared.calendars import days as calendar_days
from shared.calendars import service as calendars
from shared.config import get_settings
from shared.errors import NotFound
from shared.matching import engine, repository
from shared.matching.snapshot import offer_in, request_in
from shared.support import rules
from shared.support.allocations import service as allocations

OFFER_WITHDRAWN = "offer_withdrawn"
NO_CAPACITY_LEFT = "no_capacity_left"


@dataclass(slots=True)
class Explained:
    """One offer for the request: eligible or why not, and what it gives."""

    offer_id: uuid.UUID
    secretariat: str
    title: str
    eligible: bool
    reason: str | None
    missing_skills: list[str]
    travel: bool
    hours_proposed: int
    hours_accepted: int
    days_off: list[dict[str, object]] = field(default_factory=list)
    hours_to_higher_weight: int | None = None
    hours_to_equal_weight: int | None = None
    hours_to_lower_weight: int | None = None


@dataclass(slots=True)
class Candidates:
    """The explanation for one request."""

    request_id: uuid.UUID
    weight: int
    remaining: int
    offers: list[Explained] = field(default_factory=list)


def _named_days_off(
    r: engine.RequestIn,
    o: engine.OfferIn,
    working_days: frozenset[int],
    named: dict[str, dict[date, calendar_days.DayOff]],
) -> list[dict[str, object]]:
    """The pair's common working weekdays, each with what closes it."""
    lo, hi = max(r.start, o.start), min(r.end, o.end)
    out: list[dict[str, object]] = []
    for i in range((hi - lo).days + 1):
        day = lo + timedelta(days=i)
        if day.weekday() not in working_days:
            continue
        for side, code in (("request", r.secretariat), ("offer", o.secretariat)):
            why = named.get(code, {}).get(day)
            if why is not None:
                out.append({"date": day, "side": side, "reason": why.reason, "name": why.name})
                break
        else:
            if day in o.unavailable_dates:
                out.append({"date": day, "side": "offer", "reason": "unavailable", "name": "away"})
    return out


async def explain(session: AsyncSession, request_id: uuid.UUID) -> Candidates:
    """Every offer of the request's kind, explained (NotFound for an unknown request)."""
    working_days = get_settings().working_weekdays
    row = await repository.get_request(session, request_id)
    if row is None:
        raise NotFound(f"No workload request {request_id}.")
    request = request_in(
        row, (await allocations.accepted_by_request(session, [row.id])).get(row.id, 0)
    )
    offer_rows = await repository.offers_of_kind(session, row.kind)
    offer_ids = [o.id for o in offer_rows]
    offer_use = await allocations.accepted_by_offer(session, offer_ids)
    day_use = await allocations.accepted_by_offer_day(session, offer_ids)
    banned = frozenset((r, o) for r, o in await allocations.banned_pairs(session) if r == row.id)
    # Every live hour of these offers, day by day, with the weight of the request it serves.
    live = await repository.live_hours_of_offers(session, offer_ids)
    named = await calendars.days_off(
        session,
        {row.secretariat_code, *(o.secretariat_code for o in offer_rows)},
        working_days,
        request.start,
        request.end,
    )
    days_off = {code: frozenset(days) for code, days in named.items()}
    out = Candidates(row.id, request.weight, request.remaining)
    for o_row in offer_rows:
        used_by_day = {d: h for (oid, d), h in day_use.items() if oid == o_row.id}
        offer = offer_in(o_row, offer_use.get(o_row.id, 0), used_by_day)
        declined = (row.id, o_row.id) in banned
        reason = rules.eligibility(request, offer, declined, working_days, days_off)
        common = rules.usable_days(request, offer, working_days, days_off) if reason is None else []
        if reason is None and o_row.status != "active":
            reason = OFFER_WITHDRAWN
        if reason is None and (
            offer.total_left <= 0
            or all(used_by_day.get(d, 0) >= offer.hours_per_day for d in common)
        ):
            reason = NO_CAPACITY_LEFT
        mine = [x for x in live if x.offer_id == o_row.id and x.request_id == row.id]
        item = Explained(
            offer_id=o_row.id,
            secretariat=o_row.secretariat_code,
            title=o_row.title,
            eligible=reason is None,
            reason=reason,
            missing_skills=rules.missing_skills(request, offer) if reason == rules.SKILLS else [],
            travel=rules.is_travel(request, offer) if reason is None else False,
            hours_proposed=sum(x.hours for x in mine if x.status == "proposed"),
            hours_accepted=sum(x.hours for x in mine if x.status == "accepted"),
            days_off=(
                _named_days_off(request, offer, working_days, named)
                if reason == rules.DAYS_OFF
                else []
            ),
        )
        if item.eligible and not mine:
            days = set(common)
            higher = equal = lower = 0
            for x in live:
                if x.offer_id != o_row.id or x.day not in days:
                    continue
                weight = engine.PRIORITY_WEIGHTS[x.priority]
                if weight > request.weight:
                    higher += x.hours
                elif weight == request.weight:
                    equal += x.hours
                else:
                    lower += x.hours
            item.hours_to_higher_weight = higher
            item.hours_to_equal_weight = equal
            item.hours_to_lower_weight = lower
        out.offers.append(item)
    return out
