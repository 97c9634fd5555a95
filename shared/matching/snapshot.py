"""Reading one run's input from the database: open demand, open supply, declined pairs and
the proposals in force, shaped as the engine's `Problem` (matching.md, "Inputs of one run")."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from shared.calendars import service as calendars
from shared.matching import repository
from shared.matching.engine import PRIORITY_WEIGHTS, OfferIn, Problem, RequestIn
from shared.models import CapacityOffer, WorkloadRequest
from shared.support.allocations import service as allocations
from shared.support.rules import normalise_skills

CLOSED_REQUEST_STATUSES = ("cancelled", "expired", "fulfilled")


def request_in(r: WorkloadRequest, accepted: int) -> RequestIn:
    """A workload request as the engine sees it, given its accepted hours."""
    return RequestIn(
        id=r.id,
        secretariat=r.secretariat_code,
        kind=r.kind,
        skills=normalise_skills(r.skills),
        start=r.start_date,
        end=r.end_date,
        remaining=r.hours - accepted,
        weight=PRIORITY_WEIGHTS[r.priority],
        on_site=r.on_site,
        location=r.location,
    )


def offer_in(o: CapacityOffer, accepted: int, used_by_day: dict[date, int]) -> OfferIn:
    """A capacity offer as the engine sees it, given its accepted hours (in all, by day)."""
    return OfferIn(
        id=o.id,
        secretariat=o.secretariat_code,
        kind=o.kind,
        skills=normalise_skills(o.skills),
        start=o.start_date,
        end=o.end_date,
        hours_per_day=o.hours_per_day,
        total_left=o.total_hours - accepted,
        used_by_day=used_by_day,
        location=o.location,
        travel_ok=o.travel_ok,
        unavailable_dates=frozenset(o.unavailable_dates or ()),
    )


async def load_problem(session: AsyncSession, working_weekdays: frozenset[int]) -> Problem:
    """The engine's input as the database holds it now (requests and offers that cannot take
    part, e.g. with nothing left, are kept: the engine leaves them out and explanations need them).
    """
    request_rows = await repository.open_requests(session, CLOSED_REQUEST_STATUSES)
    offer_rows = await repository.active_offers(session)
    request_use = await allocations.accepted_by_request(session)
    offer_use = await allocations.accepted_by_offer(session)
    day_use = await allocations.accepted_by_offer_day(session)
    used_by_day: dict[uuid.UUID, dict[date, int]] = {}
    for (offer_id, day), hours in day_use.items():
        used_by_day.setdefault(offer_id, {})[day] = hours
    requests = [request_in(r, request_use.get(r.id, 0)) for r in request_rows]
    offers = [offer_in(o, offer_use.get(o.id, 0), used_by_day.get(o.id, {})) for o in offer_rows]
    banned = frozenset(await allocations.banned_pairs(session))
    previous = await allocations.current_proposals(session)
    days_off = await secretariat_days_off(session, requests, offers, working_weekdays)
    return Problem(
        requests=requests,
        offers=offers,
        banned=banned,
        previous=previous,  # type: ignore[arg-type]
        working_days=working_weekdays,
        days_off=days_off,
    )


async def secretariat_days_off(
    session: AsyncSession,
    requests: list[RequestIn],
    offers: list[OfferIn],
    working_weekdays: frozenset[int],
) -> dict[str, frozenset[date]]:
    """Each secretariat's holidays and closures over the windows of these requests and offers."""
    windows = [(r.start, r.end) for r in requests] + [(o.start, o.end) for o in offers]
    if not windows:
        return {}
    codes = {r.secretariat for r in requests} | {o.secretariat for o in offers}
    start = min(a for a, _ in windows)
    end = max(b for _, b in windows)
    off = await calendars.days_off(session, codes, working_weekdays, start, end)
    return {code: frozenset(days) for code, days in off.items()}
