"""The dashboard's figures: shapes the aggregate rows of the repository into the API's form."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from shared.activities.service import THEME_ORDER
from shared.meetings import service as meetings
from shared.models.activity import ACTIVITY_STATUSES
from shared.stats import repository
from shared.stats.schemas import DateRange, SupportQuery

# GROUPING() bits of (theme, status, lead): set where that column is rolled up.
_BY_THEME_AND_STATUS = 0b001
_BY_LEAD = 0b110


async def activity_stats(
    session: AsyncSession,
    period: DateRange,
    *,
    secretariat: str | None = None,
    theme: str | None = None,
    species_limit: int = 10,
) -> dict[str, Any]:
    """Joint activities by theme, status and lead secretariat, and the species most covered.

    An activity counts when its period (start_date to end_date) overlaps the date range; a
    missing date leaves its period open on that side. `secretariat` keeps the activities it
    leads or partners in. Every theme and status is listed, with zeros, so charts keep their
    axes when a filter empties a bar."""
    groups = await repository.activity_groups(session, period, secretariat, theme)
    species = await repository.species_counts(session, period, secretariat, theme, species_limit)
    by_theme: dict[str, dict[str, int]] = {
        t: dict.fromkeys(ACTIVITY_STATUSES, 0) for t in THEME_ORDER
    }
    leads: list[dict[str, Any]] = []
    total = 0
    for row in groups:
        if row.grouping == _BY_THEME_AND_STATUS:
            by_theme[row.theme][row.status] = row.activities
        elif row.grouping == _BY_LEAD:
            leads.append({"secretariat": row.lead, "activities": row.activities})
        else:
            total = row.activities
    leads.sort(key=lambda lead: (-lead["activities"], lead["secretariat"]))
    return {
        "filters": {
            "from": period.start,
            "to": period.end,
            "secretariat": secretariat,
            "theme": theme,
        },
        "total": total,
        "by_theme": [
            {"theme": t, "activities": sum(counts.values()), "by_status": counts}
            for t, counts in by_theme.items()
        ],
        "by_status": [
            {"status": s, "activities": sum(counts[s] for counts in by_theme.values())}
            for s in ACTIVITY_STATUSES
        ],
        "by_lead_secretariat": leads,
        "species": [{"species": r.species, "activities": r.activities} for r in species],
    }


# ---- support: workload requests, capacity offers and allocations ----
#
# How hours are attributed to days, and so to weeks (the same rule in every figure):
# - Hours requested are spread evenly over the working days of the request's window
#   (WORKING_DAYS, Monday to Friday by default): a 40-hour request from Monday to Friday
#   counts 8 hours a day, whatever happens to it later. A window without a working day
#   spreads over all its days. Cancelled requests ask for nothing and are left out.
# - Hours proposed and accepted are counted on the dates of their allocation_day rows,
#   where the people actually work.
# - Unmet hours of a request (hours - hours accepted) are spread like its requested hours.
# A date range keeps the days inside it: a request running over the range's edge counts
# only the share of its hours that falls inside.


def _filters(q: SupportQuery) -> dict[str, Any]:
    return {
        "from": q.period.start,
        "to": q.period.end,
        "secretariat": q.secretariat,
        "kind": q.kind,
    }


async def workload_stats(session: AsyncSession, q: SupportQuery) -> dict[str, Any]:
    """Hours requested, proposed and accepted, open requests and unmet hours per ISO week,
    asking secretariat and kind (see the attribution rule above).

    `open_requests` counts the requests still open, partially matched or matched (not yet
    fully accepted, not cancelled or expired) that have a counted day in the week; in the
    totals each counts once. `secretariat` and `kind` are the request's."""
    rows = await repository.workload_weeks(session, q)
    figures = (
        "hours_requested",
        "hours_proposed",
        "hours_accepted",
        "open_requests",
        "unmet_hours",
    )
    weeks = [
        {
            "week": r.week,
            "week_start": r.week_start,
            "secretariat": r.secretariat,
            "kind": r.kind,
            **{name: getattr(r, name) for name in figures},
        }
        for r in rows
        if r.grouping == 0
    ]
    total = next(r for r in rows if r.grouping != 0)
    return {
        "filters": _filters(q),
        "working_days": list(q.working_days),
        "weeks": weeks,
        "totals": {name: getattr(total, name) for name in figures},
    }


async def capacity_stats(session: AsyncSession, q: SupportQuery) -> dict[str, Any]:
    """Hours offered, proposed and accepted per capacity offer and per offering secretariat.

    An offer counts when its window overlaps the range. Offered hours are what it can give
    in the range: its hours per day on each working day of its window inside the range, at
    most its total hours. A withdrawn offer offers only the hours it had accepted. Proposed
    and accepted hours are those of its allocations on days inside the range. Utilisation is
    accepted / offered."""
    offers = await repository.capacity_by_offer(session, q)
    sums = await repository.capacity_by_secretariat(session, q)
    keys = ("offers", "active_offers", "hours_offered", "hours_proposed", "hours_accepted")
    by_secretariat = [
        {
            "secretariat": r.secretariat,
            **{k: getattr(r, k) for k in keys},
            "utilisation": r.utilisation,
        }
        for r in sums
        if r.grouping == 0
    ]
    total = next(r for r in sums if r.grouping != 0)
    return {
        "filters": _filters(q),
        "working_days": list(q.working_days),
        "offers": offers,
        "by_secretariat": by_secretariat,
        "totals": {**{k: getattr(total, k) for k in keys}, "utilisation": total.utilisation},
    }


async def unmet_skill_stats(
    session: AsyncSession, q: SupportQuery, *, limit: int = 10, requests_per_skill: int = 5
) -> dict[str, Any]:
    """The skills with the most unmet hours, and the requests behind them.

    Takes the requests that are not cancelled, whose window overlaps the range and that have
    hours not accepted (including expired ones: demand that went unmet). Each counts all its
    unmet hours under every skill it needs, so one request can weigh on several skills and
    the skills' hours do not add up to the total unmet. Requests without skills are not
    listed. Ties are broken by skill name."""
    rows = await repository.unmet_skills(session, q, limit, requests_per_skill)
    return {
        "filters": _filters(q),
        "skills": [
            {
                "skill": r.skill,
                "unmet_hours": r.unmet_hours,
                "unproposed_hours": r.unproposed_hours,
                "requests": r.requests,
                "top_requests": r.top_requests,
            }
            for r in rows
        ],
    }


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


async def exchange_stats(session: AsyncSession, q: SupportQuery) -> dict[str, Any]:
    """Hours each secretariat gave to and received from each other one, and how they were
    given: remotely (the request is not on site), on site by people already there, or on
    site by people who travelled.

    Counts the hours of allocation days inside the range; accepted hours make the balance,
    proposed ones are shown beside it. `secretariat` keeps the exchanges it gave or received
    in; `kind` is the request's."""
    pairs = await repository.exchange_pairs(session, q)
    balance = await repository.exchange_balance(session, q)
    modes = ("remote_hours", "on_site_hours", "travel_hours")
    total = next(r for r in pairs if r.grouping != 0)
    return {
        "filters": _filters(q),
        "pairs": [
            {
                "giver": r.giver,
                "receiver": r.receiver,
                "hours_accepted": r.hours_accepted,
                "hours_proposed": r.hours_proposed,
                **{m: getattr(r, m) for m in modes},
            }
            for r in pairs
            if r.grouping == 0
        ],
        "by_secretariat": balance,
        "totals": {
            "hours_accepted": total.hours_accepted,
            "hours_proposed": total.hours_proposed,
            **{m: getattr(total, m) for m in modes},
            "remote_share": _share(total.remote_hours, total.hours_accepted),
        },
    }


async def meeting_stats(session: AsyncSession, ident: str, q: SupportQuery) -> dict[str, Any]:
    """The support picture around one meeting and the joint activities reported to it.

    Support: the requests linked to the meeting (their window overlapping the range, of the
    asking secretariat and kind given), their status and hours, and their helpers (proposed
    and accepted allocations, whole hours, with the offering secretariat and whether the work
    is remote, on site, or on site after travel). Activities: those reported to the meeting,
    by theme; `secretariat` keeps those it leads or partners in."""
    meeting = await meetings.resolve(session, ident)
    requests = await repository.meeting_requests(session, meeting.code, q)
    totals = await repository.meeting_support(session, meeting.code, q)
    themes = await repository.meeting_activities(session, meeting.code, q.secretariat)
    return {
        "meeting": meetings.to_api(meeting),
        "filters": _filters(q),
        "support": {
            "totals": {
                **totals,
                "remote_share": _share(totals["remote_hours"], totals["hours_accepted"]),
            },
            "requests": requests,
        },
        "activities": {
            "total": sum(t.total for t in themes),
            "by_theme": [
                {"theme": t.theme, "total": t.total, "activities": t.activities} for t in themes
            ],
        },
    }
