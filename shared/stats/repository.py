"""Every SQL statement of the stats: aggregate queries, one round trip per figure set,
built with SQLAlchemy Core (every value a bound parameter)."""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

from sqlalchemy import (
    ARRAY,
    JSON,
    BigInteger,
    ColumnElement,
    Date,
    DateTime,
    Float,
    Integer,
    Numeric,
    Select,
    String,
    Text,
    Uuid,
    and_,
    any_,
    bindparam,
    case,
    cast,
    column,
    desc,
    distinct,
    extract,
    func,
    literal,
    literal_column,
    not_,
    null,
    or_,
    select,
    true,
    tuple_,
    union_all,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by, array
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from shared.activities.service import THEME_ORDER
from shared.models import Activity, Allocation, AllocationDay, CapacityOffer, WorkloadRequest
from shared.stats.schemas import DateRange, SupportQuery


def _activity_conditions(
    period: DateRange, secretariat: str | None, theme: str | None
) -> list[ColumnElement[bool]]:
    """An activity is in the range when its period overlaps it; a missing start or end date
    leaves that side of the activity's period open (an undated plan counts everywhere)."""
    conditions: list[ColumnElement[bool]] = []
    if period.start is not None:
        conditions.append(or_(Activity.end_date.is_(None), Activity.end_date >= period.start))
    if period.end is not None:
        conditions.append(or_(Activity.start_date.is_(None), Activity.start_date <= period.end))
    if secretariat is not None:
        conditions.append(
            or_(
                Activity.lead_secretariat_code == secretariat,
                Activity.partner_secretariat_codes.contains([secretariat]),
            )
        )
    if theme is not None:
        conditions.append(Activity.theme == theme)
    return conditions


async def activity_groups(
    session: AsyncSession, period: DateRange, secretariat: str | None, theme: str | None
) -> list[Any]:
    """Activity counts by (theme, status), by lead secretariat and in total, in one scan.

    Rows carry `theme`, `status`, `lead`, `activities` and `grouping`: the GROUPING() bits of
    (theme, status, lead), 1 where the column was rolled up (0b001 = by theme and status,
    0b110 = by lead, 0b111 = total)."""
    theme_col, status_col, lead_col = (
        Activity.theme,
        Activity.status,
        Activity.lead_secretariat_code,
    )
    stmt = (
        select(
            theme_col.label("theme"),
            status_col.label("status"),
            lead_col.label("lead"),
            func.count().label("activities"),
            func.grouping(theme_col, status_col, lead_col).label("grouping"),
        )
        .where(and_(True, *_activity_conditions(period, secretariat, theme)))
        .group_by(
            func.grouping_sets(
                tuple_(theme_col, status_col), tuple_(lead_col), literal_column("()")
            )
        )
    )
    return list((await session.execute(stmt)).all())


async def species_counts(
    session: AsyncSession,
    period: DateRange,
    secretariat: str | None,
    theme: str | None,
    limit: int,
) -> list[Any]:
    """The species covered by the most activities (names compare case-insensitively; the most
    common spelling is shown)."""
    name = func.unnest(Activity.species).table_valued("name").render_derived(name="covered")
    # Byte order, so that ties list the same way whatever the database's collation.
    key = func.lower(name.c.name).collate("C")
    stmt = (
        select(
            func.mode().within_group(name.c.name.collate("C")).label("species"),
            func.count(func.distinct(Activity.id)).label("activities"),
        )
        .select_from(Activity)
        .join(name, literal_column("true"))
        .where(and_(True, *_activity_conditions(period, secretariat, theme)))
        .group_by(key)
        .order_by(func.count(func.distinct(Activity.id)).desc(), key)
        .limit(limit)
    )
    return list((await session.execute(stmt)).all())


# ---- workload requests, capacity offers and allocations ----
#
# SQLAlchemy Core, each statement built once per set of filters given (`_Shape`) and run with
# SupportQuery.params(): building these statements for every request cost 5-20 ms of Python
# each, more than most of the queries take in PostgreSQL. A literal VALUES list is avoided
# for the same reason: SQLAlchemy cannot cache its compiled form, so it compiled every time.

_OPEN = ("open", "partially_matched", "matched")
_IN_FORCE = ("proposed", "accepted")


class _Shape(NamedTuple):
    """Which support filters are set: each one set adds its condition, its value a bound
    parameter."""

    start: bool
    end: bool
    secretariat: bool
    kind: bool


def _shape(f: SupportQuery) -> _Shape:
    return _Shape(
        f.period.start is not None,
        f.period.end is not None,
        f.secretariat is not None,
        f.kind is not None,
    )


# The parameters of SupportQuery.params(), and those of single queries.
_RANGE_FROM = bindparam("range_from", type_=Date)
_RANGE_TO = bindparam("range_to", type_=Date)
_SECRETARIAT = bindparam("secretariat", type_=String)
_KIND = bindparam("kind", type_=String)
_WORKING_DAYS = bindparam("working_days", type_=ARRAY(Integer))
_CODE = bindparam("code", type_=String)


def _overlaps(f: _Shape, start: Any, end: Any) -> list[ColumnElement[bool]]:
    """A request or offer counts when its window (`start`..`end`) overlaps the range."""
    out: list[ColumnElement[bool]] = []
    if f.start:
        out.append(end >= _RANGE_FROM)
    if f.end:
        out.append(start <= _RANGE_TO)
    return out


def _in_range(f: _Shape, day: Any) -> list[ColumnElement[bool]]:
    out: list[ColumnElement[bool]] = []
    if f.start:
        out.append(day >= _RANGE_FROM)
    if f.end:
        out.append(day <= _RANGE_TO)
    return out


def _own(f: _Shape, secretariat_code: Any, kind: Any) -> list[ColumnElement[bool]]:
    """The secretariat and kind filters on a request or an offer."""
    out: list[ColumnElement[bool]] = []
    if f.secretariat:
        out.append(secretariat_code == _SECRETARIAT)
    if f.kind:
        out.append(kind == _KIND)
    return out


def _isodow(day: Any) -> ColumnElement[int]:
    return cast(extract("isodow", day), Integer)


def _working(day: Any) -> ColumnElement[bool]:
    """Whether `day` falls on one of the working weekdays."""
    return _isodow(day) == any_(_WORKING_DAYS)


def _week_start(day: Any) -> ColumnElement[Any]:
    """The Monday of a date's ISO week, by date arithmetic only: no time zone can move a day
    into another week."""
    return day - (_isodow(day) - 1)


def _days(start: Any, end: Any) -> Any:
    """`generate_series(0, end - start) AS i(i)`: the day offsets of a window."""
    series = func.generate_series(0, end - start)
    return series.table_valued(column("i", Integer)).render_derived(name="i")


# No hours, written into the statement.
_NONE = literal_column("0", Integer)


def _hours_if(hours: Any, condition: ColumnElement[bool]) -> ColumnElement[Any]:
    """`coalesce(sum(hours) FILTER (WHERE condition), 0)`."""
    return func.coalesce(func.sum(hours).filter(condition), 0)


def _int(value: Any) -> ColumnElement[int]:
    return cast(value, Integer)


async def workload_weeks(session: AsyncSession, f: SupportQuery) -> list[Any]:
    """Hours requested, proposed and accepted, open requests and unmet hours per ISO week,
    asking secretariat and kind; and the same over the whole range (`grouping` not 0).

    Demand side: every request but the cancelled ones, each hour spread evenly over the
    working days of its window (all its days when the window has no working day); unmet
    hours (hours not accepted) are spread the same way. Supply side: allocation_day hours of
    proposed and accepted allocations, on their own dates.

    Days are counted per request and week first (a few rows per request), so the final
    aggregate reads thousands of rows, not one per request-day."""
    return list((await session.execute(_workload_weeks(_shape(f)), f.params())).all())


@functools.cache
def _workload_weeks(f: _Shape) -> Select[Any]:
    r = aliased(WorkloadRequest, name="r")
    request = (
        select(
            r.id,
            r.secretariat_code,
            r.kind,
            r.hours,
            r.start_date,
            r.end_date,
            (r.hours - r.hours_accepted).label("unmet"),
            r.status.in_(_OPEN).label("is_open"),
        )
        .where(
            r.status != "cancelled",
            *_own(f, r.secretariat_code, r.kind),
            *_overlaps(f, r.start_date, r.end_date),
        )
        .cte("request")
    )
    i = _days(request.c.start_date, request.c.end_date)
    day = request.c.start_date + i.c.i
    # Each day and whether it is a working day, named once for the counts below.
    d = select(day.label("day"), _working(day).label("working")).correlate(request, i).lateral("d")
    in_range = and_(true(), *_in_range(f, d.c.day))
    week_start = _week_start(d.c.day).label("week_start")
    request_week = (
        select(
            request.c.id,
            week_start,
            func.count().filter(d.c.working).label("working_days"),
            func.count().label("days"),
            func.count().filter(and_(d.c.working, in_range)).label("working_days_in_range"),
            func.count().filter(in_range).label("days_in_range"),
        )
        .select_from(request.join(i, true()).join(d, true()))
        .group_by(request.c.id, week_start)
        .cte("request_week")
    )
    spread = select(
        request_week.c.id,
        request_week.c.week_start,
        request_week.c.working_days_in_range,
        request_week.c.days_in_range,
        func.sum(request_week.c.working_days)
        .over(partition_by=request_week.c.id)
        .label("window_working_days"),
        func.sum(request_week.c.days).over(partition_by=request_week.c.id).label("window_days"),
    ).cte("spread")
    # The days of each request and week that carry its hours, out of how many.
    any_working = spread.c.window_working_days > 0
    share = select(
        spread.c.id,
        spread.c.week_start,
        case((any_working, spread.c.working_days_in_range), else_=spread.c.days_in_range).label(
            "counted"
        ),
        case((any_working, spread.c.window_working_days), else_=spread.c.window_days).label(
            "out_of"
        ),
    ).cte("share")
    demand = (
        select(
            share.c.week_start,
            request.c.secretariat_code,
            request.c.kind,
            (cast(request.c.hours, Numeric) * share.c.counted / share.c.out_of).label("requested"),
            (cast(request.c.unmet, Numeric) * share.c.counted / share.c.out_of).label("unmet"),
            case((request.c.is_open, request.c.id)).label("open_id"),
            cast(0, BigInteger).label("proposed"),
            cast(0, BigInteger).label("accepted"),
        )
        .select_from(share.join(request, request.c.id == share.c.id))
        .where(share.c.counted > 0)
    )
    a = aliased(Allocation, name="a")
    ad = aliased(AllocationDay, name="d")
    sr = aliased(WorkloadRequest, name="r")
    supply_week = _week_start(ad.day).label("week_start")
    supply = (
        select(
            supply_week,
            sr.secretariat_code,
            sr.kind,
            cast(0, Numeric).label("requested"),
            cast(0, Numeric).label("unmet"),
            cast(null(), Uuid).label("open_id"),
            _hours_if(ad.hours, a.status == "proposed").label("proposed"),
            _hours_if(ad.hours, a.status == "accepted").label("accepted"),
        )
        .select_from(a)
        .join(ad, ad.allocation_id == a.id)
        .join(sr, sr.id == a.request_id)
        .where(
            a.status.in_(_IN_FORCE),
            *_own(f, sr.secretariat_code, sr.kind),
            *_in_range(f, ad.day),
        )
        .group_by(supply_week, sr.secretariat_code, sr.kind)
    )
    weekly = union_all(demand, supply).cte("weekly")
    w = weekly.c
    return (
        select(
            w.week_start,
            func.to_char(cast(w.week_start, DateTime), 'IYYY-"W"IW').label("week"),
            w.secretariat_code.label("secretariat"),
            w.kind,
            cast(func.coalesce(func.round(func.sum(w.requested), 2), 0), Float).label(
                "hours_requested"
            ),
            _int(func.coalesce(func.sum(w.proposed), 0)).label("hours_proposed"),
            _int(func.coalesce(func.sum(w.accepted), 0)).label("hours_accepted"),
            _int(func.count(distinct(w.open_id))).label("open_requests"),
            cast(func.coalesce(func.round(func.sum(w.unmet), 2), 0), Float).label("unmet_hours"),
            func.grouping(w.week_start, w.secretariat_code, w.kind).label("grouping"),
        )
        .group_by(func.grouping_sets(tuple_(w.week_start, w.secretariat_code, w.kind), tuple_()))
        .order_by("grouping", w.week_start, "secretariat", w.kind)
    )


def _offer_usage(f: _Shape) -> Any:
    """`offer_usage`: each offer in the filters with its offered, proposed and accepted hours
    in the range (see service.capacity_stats for what offered means)."""
    o = aliased(CapacityOffer, name="o")
    start = func.greatest(o.start_date, _RANGE_FROM) if f.start else o.start_date
    end = func.least(o.end_date, _RANGE_TO) if f.end else o.end_date
    offer = (
        select(
            o.id,
            o.title,
            o.secretariat_code,
            o.kind,
            o.status,
            o.start_date,
            o.end_date,
            o.hours_per_day,
            o.total_hours,
            o.location,
            o.travel_ok,
            start.label("usable_from"),
            end.label("usable_to"),
        )
        .where(
            true(), *_own(f, o.secretariat_code, o.kind), *_overlaps(f, o.start_date, o.end_date)
        )
        .cte("offer")
    )
    i = _days(offer.c.usable_from, offer.c.usable_to)
    usable = (
        select(
            offer.c.id,
            func.count().filter(_working(offer.c.usable_from + i.c.i)).label("working_days"),
        )
        .select_from(offer.join(i, true()))
        .group_by(offer.c.id)
        .cte("usable")
    )
    a = aliased(Allocation, name="a")
    d = aliased(AllocationDay, name="d")
    used = (
        select(
            a.offer_id,
            _hours_if(d.hours, a.status == "proposed").label("proposed"),
            _hours_if(d.hours, a.status == "accepted").label("accepted"),
        )
        .select_from(a)
        .join(d, d.allocation_id == a.id)
        .where(
            a.status.in_(_IN_FORCE),
            a.offer_id.in_(select(offer.c.id)),
            *_in_range(f, d.day),
        )
        .group_by(a.offer_id)
        .cte("used")
    )
    offered = case(
        (offer.c.status == "withdrawn", func.coalesce(used.c.accepted, 0)),
        else_=func.least(
            offer.c.total_hours, offer.c.hours_per_day * func.coalesce(usable.c.working_days, 0)
        ),
    )
    return (
        select(
            offer.c.id,
            offer.c.title,
            offer.c.secretariat_code.label("secretariat"),
            offer.c.kind,
            offer.c.status,
            offer.c.start_date,
            offer.c.end_date,
            offer.c.hours_per_day,
            offer.c.total_hours,
            offer.c.location,
            offer.c.travel_ok,
            offered.label("offered"),
            func.coalesce(used.c.proposed, 0).label("proposed"),
            func.coalesce(used.c.accepted, 0).label("accepted"),
        )
        .select_from(
            offer.outerjoin(usable, usable.c.id == offer.c.id).outerjoin(
                used, used.c.offer_id == offer.c.id
            )
        )
        .cte("offer_usage")
    )


def _utilisation(accepted: Any, offered: Any) -> ColumnElement[Any]:
    return case((offered > 0, cast(func.round(cast(accepted, Numeric) / offered, 4), Float)))


async def capacity_by_offer(session: AsyncSession, f: SupportQuery) -> list[dict[str, Any]]:
    """Each offer in the filters with its hours offered, proposed and accepted."""
    rows = (await session.execute(_capacity_by_offer(_shape(f)), f.params())).mappings()
    return [dict(r) for r in rows]


@functools.cache
def _capacity_by_offer(f: _Shape) -> Select[Any]:
    u = _offer_usage(f).c
    return select(
        u.id,
        u.title,
        u.secretariat,
        u.kind,
        u.status,
        u.start_date,
        u.end_date,
        u.hours_per_day,
        u.total_hours,
        u.location,
        u.travel_ok,
        _int(u.offered).label("hours_offered"),
        _int(u.proposed).label("hours_proposed"),
        _int(u.accepted).label("hours_accepted"),
        _utilisation(u.accepted, u.offered).label("utilisation"),
    ).order_by(u.secretariat, u.start_date, u.title, u.id)


async def capacity_by_secretariat(session: AsyncSession, f: SupportQuery) -> list[Any]:
    """The offers' hours summed per offering secretariat, and in total (`secretariat` null)."""
    return list((await session.execute(_capacity_by_secretariat(_shape(f)), f.params())).all())


@functools.cache
def _capacity_by_secretariat(f: _Shape) -> Select[Any]:
    u = _offer_usage(f).c
    return (
        select(
            u.secretariat,
            _int(func.count()).label("offers"),
            _int(func.count().filter(u.status == "active")).label("active_offers"),
            _int(func.coalesce(func.sum(u.offered), 0)).label("hours_offered"),
            _int(func.coalesce(func.sum(u.proposed), 0)).label("hours_proposed"),
            _int(func.coalesce(func.sum(u.accepted), 0)).label("hours_accepted"),
            _utilisation(func.sum(u.accepted), func.sum(u.offered)).label("utilisation"),
            func.grouping(u.secretariat).label("grouping"),
        )
        .group_by(func.rollup(u.secretariat))
        .order_by("grouping", u.secretariat)
    )


def _request_columns(r: Any) -> list[ColumnElement[Any]]:
    """What the stats show of a workload request (alias `r`)."""
    return [
        r.id,
        r.title,
        r.secretariat_code.label("secretariat"),
        r.kind,
        r.status,
        r.priority,
        r.start_date,
        r.end_date,
        r.hours,
        r.hours_proposed,
        r.hours_accepted,
    ]


def _json_object(**fields: Any) -> ColumnElement[Any]:
    """`json_build_object('name', value, ...)` in the order given."""
    return func.json_build_object(*(x for pair in fields.items() for x in pair))


async def unmet_skills(
    session: AsyncSession, f: SupportQuery, limit: int, requests_per_skill: int
) -> list[Any]:
    """The skills with the most unmet hours (hours asked for and not accepted) among the
    requests in the filters that are not cancelled, with the requests behind each."""
    params = {**f.params(), "limit": limit, "requests_per_skill": requests_per_skill}
    return list((await session.execute(_unmet_skills(_shape(f)), params)).all())


@functools.cache
def _unmet_skills(f: _Shape) -> Select[Any]:
    r = aliased(WorkloadRequest, name="r")
    unmet = r.hours - r.hours_accepted
    request = (
        select(
            *_request_columns(r),
            r.skills,
            r.meeting_code,
            unmet.label("unmet"),
            func.greatest(unmet - r.hours_proposed, 0).label("unproposed"),
        )
        .where(
            r.status != "cancelled",
            r.hours > r.hours_accepted,
            *_own(f, r.secretariat_code, r.kind),
            *_overlaps(f, r.start_date, r.end_date),
        )
        .cte("request")
    )
    q = request.c
    skills = func.unnest(q.skills).table_valued("skill").render_derived(name="skill")
    skill = skills.c.skill
    per_skill = (
        select(
            skill,
            *request.c,
            func.row_number()
            .over(partition_by=skill, order_by=(q.unmet.desc(), q.start_date, q.id))
            .label("rank"),
        )
        .select_from(request.join(skills, true()))
        .cte("per_skill")
    )
    p = per_skill.c
    shown = _json_object(
        id=p.id,
        title=p.title,
        secretariat=p.secretariat,
        kind=p.kind,
        status=p.status,
        priority=p.priority,
        start_date=p.start_date,
        end_date=p.end_date,
        meeting_code=p.meeting_code,
        hours=p.hours,
        hours_proposed=p.hours_proposed,
        hours_accepted=p.hours_accepted,
        unmet_hours=p.unmet,
    )
    top_requests = func.coalesce(
        func.json_agg(aggregate_order_by(shown, p.rank)).filter(
            p.rank <= bindparam("requests_per_skill", type_=Integer)
        ),
        func.json_build_array(),
        type_=JSON,
    )
    return (
        select(
            p.skill,
            _int(func.sum(p.unmet)).label("unmet_hours"),
            _int(func.sum(p.unproposed)).label("unproposed_hours"),
            _int(func.count()).label("requests"),
            top_requests.label("top_requests"),
        )
        .group_by(p.skill)
        .order_by(desc("unmet_hours"), p.skill.collate("C"))
        .limit(bindparam("limit", type_=Integer))
    )


def _exchanged(f: _Shape) -> Any:
    """`given`: the allocation days in the filters, with both secretariats."""
    a = aliased(Allocation, name="a")
    d = aliased(AllocationDay, name="d")
    r = aliased(WorkloadRequest, name="r")
    o = aliased(CapacityOffer, name="o")
    involved = (
        [or_(o.secretariat_code == _SECRETARIAT, r.secretariat_code == _SECRETARIAT)]
        if f.secretariat
        else []
    )
    kind = [r.kind == _KIND] if f.kind else []
    return (
        select(
            o.secretariat_code.label("giver"),
            r.secretariat_code.label("receiver"),
            a.status,
            a.travel,
            r.on_site,
            d.hours,
        )
        .select_from(a)
        .join(d, d.allocation_id == a.id)
        .join(r, r.id == a.request_id)
        .join(o, o.id == a.offer_id)
        .where(a.status.in_(_IN_FORCE), *involved, *kind, *_in_range(f, d.day))
        .cte("given")
    )


async def exchange_pairs(session: AsyncSession, f: SupportQuery) -> list[Any]:
    """Hours each secretariat gave to each other one (allocation_day hours in the range),
    with how the accepted ones were given; `grouping` 3 is the total over all pairs."""
    return list((await session.execute(_exchange_pairs(_shape(f)), f.params())).all())


@functools.cache
def _exchange_pairs(f: _Shape) -> Select[Any]:
    g = _exchanged(f).c
    accepted = g.status == "accepted"
    return (
        select(
            g.giver,
            g.receiver,
            _int(_hours_if(g.hours, accepted)).label("hours_accepted"),
            _int(_hours_if(g.hours, g.status == "proposed")).label("hours_proposed"),
            _int(_hours_if(g.hours, and_(accepted, not_(g.on_site)))).label("remote_hours"),
            _int(_hours_if(g.hours, and_(accepted, g.on_site, not_(g.travel)))).label(
                "on_site_hours"
            ),
            _int(_hours_if(g.hours, and_(accepted, g.travel))).label("travel_hours"),
            func.grouping(g.giver, g.receiver).label("grouping"),
        )
        .group_by(func.grouping_sets(tuple_(g.giver, g.receiver), tuple_()))
        .order_by("grouping", g.giver, g.receiver)
    )


async def exchange_balance(session: AsyncSession, f: SupportQuery) -> list[dict[str, Any]]:
    """Accepted and proposed hours each secretariat gave and received in the range."""
    rows = (await session.execute(_exchange_balance(_shape(f)), f.params())).mappings()
    return [dict(r) for r in rows]


@functools.cache
def _exchange_balance(f: _Shape) -> Select[Any]:
    given = _exchanged(f)
    g = given.c
    # Each day's hours twice: once on the giver's side, once on the receiver's.
    side = union_all(
        select(
            g.giver.label("secretariat"), g.hours.label("given"), _NONE.label("received")
        ).correlate(given),
        select(g.receiver, _NONE, g.hours).correlate(given),
    ).lateral("side")
    s = side.c
    accepted, proposed = g.status == "accepted", g.status == "proposed"
    return (
        select(
            s.secretariat,
            _int(_hours_if(s.given, accepted)).label("hours_given"),
            _int(_hours_if(s.received, accepted)).label("hours_received"),
            _int(_hours_if(s.given - s.received, accepted)).label("balance"),
            _int(_hours_if(s.given, proposed)).label("hours_proposed_to_give"),
            _int(_hours_if(s.received, proposed)).label("hours_proposed_to_receive"),
        )
        .select_from(given.join(side, true()))
        .group_by(s.secretariat)
        .order_by(s.secretariat)
    )


def _meeting_requests(f: _Shape) -> tuple[Any, list[ColumnElement[bool]]]:
    """The requests linked to a meeting in the filters: the alias `r` and its conditions."""
    r = aliased(WorkloadRequest, name="r")
    return r, [
        r.meeting_code == _CODE,
        *_own(f, r.secretariat_code, r.kind),
        *_overlaps(f, r.start_date, r.end_date),
    ]


async def meeting_requests(
    session: AsyncSession, code: str, f: SupportQuery
) -> list[dict[str, Any]]:
    """The requests linked to a meeting, each with its helpers (proposed and accepted
    allocations, with the offer and its secretariat)."""
    params = {**f.params(), "code": code}
    rows = (await session.execute(_meeting_requests_with_helpers(_shape(f)), params)).mappings()
    return [dict(r) for r in rows]


@functools.cache
def _meeting_requests_with_helpers(f: _Shape) -> Select[Any]:
    r, linked = _meeting_requests(f)
    a = aliased(Allocation, name="a")
    o = aliased(CapacityOffer, name="o")
    helper = _json_object(
        allocation_id=a.id,
        offer_id=o.id,
        offer_title=o.title,
        secretariat=o.secretariat_code,
        status=a.status,
        hours=a.hours,
        travel=a.travel,
        mode=case((not_(r.on_site), "remote"), (a.travel, "travel"), else_="on_site"),
    )
    helpers = func.coalesce(
        func.json_agg(
            aggregate_order_by(helper, a.status, o.secretariat_code, o.title, a.id)
        ).filter(a.id.is_not(None)),
        func.json_build_array(),
        type_=JSON,
    )
    return (
        select(
            *_request_columns(r),
            r.on_site,
            r.location,
            r.skills,
            helpers.label("helpers"),
        )
        .select_from(r)
        .outerjoin(a, and_(a.request_id == r.id, a.status.in_(_IN_FORCE)))
        .outerjoin(o, o.id == a.offer_id)
        .where(*linked)
        .group_by(r.id)
        .order_by(r.start_date, r.title, r.id)
    )


async def meeting_support(session: AsyncSession, code: str, f: SupportQuery) -> dict[str, Any]:
    """Totals of the requests linked to a meeting and of the hours given to them."""
    params = {**f.params(), "code": code}
    return dict((await session.execute(_meeting_support(_shape(f)), params)).mappings().one())


@functools.cache
def _meeting_support(f: _Shape) -> Select[Any]:
    r, linked = _meeting_requests(f)
    request = (
        select(
            r.id,
            r.status,
            r.hours,
            r.hours_proposed,
            r.hours_accepted,
            r.on_site,
        )
        .where(*linked)
        .cte("request")
    )
    q = request.c
    a = aliased(Allocation, name="a")
    o = aliased(CapacityOffer, name="o")
    accepted = a.status == "accepted"
    given = (
        select(
            _int(_hours_if(a.hours, and_(accepted, not_(q.on_site)))).label("remote_hours"),
            _int(_hours_if(a.hours, and_(accepted, q.on_site, not_(a.travel)))).label(
                "on_site_hours"
            ),
            _int(_hours_if(a.hours, and_(accepted, a.travel))).label("travel_hours"),
            _int(func.count(distinct(o.id)).filter(accepted)).label("accepted_offers"),
        )
        .select_from(request)
        .join(a, and_(a.request_id == q.id, a.status.in_(_IN_FORCE)))
        .join(o, o.id == a.offer_id)
        .cte("given")
    )
    per_status = (
        select(
            q.status,
            func.count().label("n"),
            func.sum(q.hours).filter(q.status != "cancelled").label("requested"),
            func.sum(q.hours_proposed).label("proposed"),
            func.sum(q.hours_accepted).label("accepted"),
        )
        .group_by(q.status)
        .subquery("per_status")
    )
    s = per_status.c
    return select(
        _int(func.coalesce(func.sum(s.n), 0)).label("requests"),
        func.coalesce(
            func.jsonb_object_agg(s.status, s.n).filter(s.status.is_not(None)),
            func.jsonb_build_object(),
            type_=JSON,
        ).label("by_status"),
        _int(func.coalesce(func.sum(s.requested), 0)).label("hours_requested"),
        _int(func.coalesce(func.sum(s.proposed), 0)).label("hours_proposed"),
        _int(func.coalesce(func.sum(s.accepted), 0)).label("hours_accepted"),
        *(
            select(given.c[name]).scalar_subquery().label(name)
            for name in ("remote_hours", "on_site_hours", "travel_hours", "accepted_offers")
        ),
    ).select_from(per_status)


async def meeting_activities(
    session: AsyncSession, code: str, secretariat: str | None
) -> list[Any]:
    """The joint activities reported to a meeting, one row per theme in the register's order
    (the themes with none are left out)."""
    params = {"code": code, "secretariat": secretariat}
    stmt = _meeting_activities(secretariat is not None)
    return list((await session.execute(stmt, params)).all())


@functools.cache
def _meeting_activities(involved_only: bool) -> Select[Any]:
    a = aliased(Activity, name="a")
    involved = (
        [
            or_(
                a.lead_secretariat_code == _SECRETARIAT,
                a.partner_secretariat_codes.contains(array([_SECRETARIAT])),
            )
        ]
        if involved_only
        else []
    )
    shown = _json_object(
        id=a.id,
        title=a.title,
        lead_secretariat=a.lead_secretariat_code,
        partner_secretariats=a.partner_secretariat_codes,
        status=a.status,
        species=a.species,
    )
    return (
        select(
            a.theme,
            _int(func.count()).label("total"),
            func.json_agg(aggregate_order_by(shown, a.title, a.id), type_=JSON).label("activities"),
        )
        .where(a.meeting_codes.contains(array([_CODE])), *involved)
        .group_by(a.theme)
        .order_by(func.array_position(literal(list(THEME_ORDER), ARRAY(Text)), cast(a.theme, Text)))
    )
