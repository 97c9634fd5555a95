"""Forecasts of upcoming meetings' support needs, and the shortfall against what is offered."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from shared.calendars import service as calendars
from shared.errors import NotFound, Unprocessable
from shared.forecast import model, repository
from shared.forecast.schemas import (
    ForecastMeeting,
    Hours,
    KindSkillHours,
    MeetingForecast,
    Shortfall,
    ShortfallRow,
    WeekHours,
)

# A shortfall answer covers at most this many days.
MAX_SHORTFALL_DAYS = 366


def _r(x: float) -> float:
    return round(x, 1)


def _hours(a: model.Amount) -> dict[str, float]:
    return {"expected": _r(a.expected), "low": _r(a.low), "high": _r(a.high)}


def _meeting(info: repository.MeetingInfo) -> ForecastMeeting:
    return ForecastMeeting(
        code=info.code,
        title=info.title,
        body=info.body,
        secretariat=info.secretariat,
        start_date=info.start,
        end_date=info.end,
        days=(info.end - info.start).days + 1,
    )


def _target(info: repository.MeetingInfo) -> model.Meeting:
    return model.Meeting(info.code, info.body, info.secretariat, info.start, info.end)


async def meeting_forecast(session: AsyncSession, code: str) -> MeetingForecast:
    """The forecast of one meeting from the meetings of its secretariat before it."""
    info = await repository.meeting_info(session, code)
    if info is None:
        raise NotFound(f"No meeting {code}.")
    history = await repository.meetings(session, [info.secretariat], before=info.start)
    fc = model.forecast(_target(info), history)
    if fc is None:
        return MeetingForecast(
            meeting=_meeting(info),
            based_on=[],
            same_body=False,
            trend_per_year=0.0,
            length_elasticity=1.0,
            total=None,
            by_kind_skill=[],
            weeks=[],
        )
    return MeetingForecast(
        meeting=_meeting(info),
        based_on=fc.based_on,
        same_body=fc.same_body,
        trend_per_year=round(fc.trend_per_year, 4),
        length_elasticity=round(fc.length_elasticity, 3),
        total=Hours(**_hours(fc.total)),
        by_kind_skill=[
            KindSkillHours(kind=k, skill=s, **_hours(a)) for (k, s), a in fc.by_kind_skill.items()
        ],
        weeks=[
            WeekHours(
                kind=c.kind, skill=c.skill, week=c.week, week_start=c.week_start, **_hours(c.hours)
            )
            for c in fc.cells
        ],
    )


async def shortfall(
    session: AsyncSession,
    weekdays: frozenset[int],
    start: date,
    end: date,
    secretariat: str | None,
) -> Shortfall:
    """Expected hours per secretariat, kind, skill and week from `start` to `end` for the
    meetings then, against the capacity offered and accepted in those weeks."""
    if end < start:
        raise Unprocessable(
            "`to` must not be before `from`.",
            errors=[{"field": "query.to", "message": "must not be before from", "type": "range"}],
        )
    if (end - start).days + 1 > MAX_SHORTFALL_DAYS:
        raise Unprocessable(
            f"A shortfall covers at most {MAX_SHORTFALL_DAYS} days.",
            errors=[
                {
                    "field": "query.to",
                    "message": f"at most {MAX_SHORTFALL_DAYS} days after from",
                    "type": "range",
                }
            ],
        )
    # A meeting's forecast starts 12 weeks before its opening.
    horizon = end + timedelta(weeks=model.WEEKS_BEFORE)
    infos = [
        m
        for m in await repository.upcoming(
            session, secretariat, start - timedelta(days=60), horizon
        )
        if m.end >= start
    ]
    history = await repository.meetings(session, sorted({m.secretariat for m in infos}))
    expected: dict[tuple[str, str, str, date], list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
    meetings_of: dict[tuple[str, str, str, date], set[str]] = defaultdict(set)
    for info in infos:
        fc = model.forecast(_target(info), history)
        if fc is None:
            continue
        for (kind, skill, day), amount in model.daily(fc).items():
            if not start <= day <= end:
                continue
            key = (info.secretariat, kind, skill, model.week_of(day))
            cell = expected[key]
            cell[0] += amount.expected
            cell[1] += amount.low
            cell[2] += amount.high
            meetings_of[key].add(info.code)

    offered = await _offered(session, weekdays, start, end)
    accepted: dict[tuple[str, str, str, date], float] = defaultdict(float)
    for sec, kind, skills, day, hours in await repository.accepted_days(session, start, end):
        for skill in {s.strip().casefold() for s in skills} or {model.NO_SKILL}:
            accepted[(sec, kind, skill, model.week_of(day))] += hours

    rows: list[ShortfallRow] = []
    for key in sorted(expected):
        sec, kind, skill, week = key
        exp, low, high = expected[key]
        held = sum(
            hours
            for (o_sec, o_kind, o_skills), weeks in offered.items()
            if o_sec != sec and o_kind == kind and (skill == model.NO_SKILL or skill in o_skills)
            for w, hours in weeks.items()
            if w == week
        )
        got = accepted.get(key, 0.0)
        rows.append(
            ShortfallRow(
                secretariat=sec,
                kind=kind,
                skill=skill,
                week_start=week,
                expected=_r(exp),
                low=_r(low),
                high=_r(high),
                offered=_r(held),
                accepted=_r(got),
                shortfall=_r(max(0.0, exp - max(held, got))),
                meetings=sorted(meetings_of[key]),
            )
        )
    return Shortfall(
        from_=start,
        to=end,
        meetings=[_meeting(m) for m in infos],
        total_expected=_r(sum(r.expected for r in rows)),
        total_shortfall=_r(sum(r.shortfall for r in rows)),
        items=rows,
    )


async def _offered(
    session: AsyncSession, weekdays: frozenset[int], start: date, end: date
) -> dict[tuple[str, str, frozenset[str]], dict[date, float]]:
    """Hours each active offer holds per week (its working days in its window, at most
    what is left of its total), grouped by (secretariat, kind, skills)."""
    offers = await repository.offers(session, start, end)
    off = await calendars.days_off(session, {o.secretariat for o in offers}, weekdays, start, end)
    out: dict[tuple[str, str, frozenset[str]], dict[date, float]] = defaultdict(
        lambda: defaultdict(float)
    )
    for o in offers:
        weeks: dict[date, float] = defaultdict(float)
        day = max(start, o.start)
        while day <= min(end, o.end):
            if day.weekday() in weekdays and day not in off[o.secretariat]:
                weeks[model.week_of(day)] += o.hours_per_day
            day += timedelta(days=1)
        target = out[(o.secretariat, o.kind, o.skills)]
        for week, hours in weeks.items():
            target[week] += min(hours, max(0, o.total_left))
    return out


async def add_past_requests(
    session: AsyncSession, source: str, rows: list[dict[str, object]]
) -> int:
    """Record requests of past meetings as they were (e.g. imported history); rows already
    there (same source and external id) are left alone. Returns how many were added."""
    added = 0
    for values in rows:
        added += await repository.add_past_request(session, source, values)
    return added
