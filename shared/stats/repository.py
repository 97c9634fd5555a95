"""Every SQL statement of the stats: aggregate queries, one round trip per figure set."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    ColumnElement,
    and_,
    column,
    func,
    literal_column,
    or_,
    select,
    text,
    tuple_,
)
from sqlalchemy.ext.asyncio import AsyncSession

from shared.activities.service import THEME_ORDER
from shared.models import Activity
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
# Hand-written SQL: window functions, FILTER, GROUPING SETS and generate_series read more
# plainly here than in the expression language. Only fixed fragments are put together;
# every value is a bound parameter.


def _request_window(f: SupportQuery, alias: str) -> list[str]:
    """A request or offer counts when its window overlaps the range."""
    out = []
    if f.period.start is not None:
        out.append(f"{alias}.end_date >= :range_from")
    if f.period.end is not None:
        out.append(f"{alias}.start_date <= :range_to")
    return out


def _days_in_range(f: SupportQuery, column: str) -> list[str]:
    out = []
    if f.period.start is not None:
        out.append(f"{column} >= :range_from")
    if f.period.end is not None:
        out.append(f"{column} <= :range_to")
    return out


def _own(f: SupportQuery, alias: str) -> list[str]:
    """The secretariat and kind filters on a request or an offer."""
    out = []
    if f.secretariat is not None:
        out.append(f"{alias}.secretariat_code = :secretariat")
    if f.kind is not None:
        out.append(f"{alias}.kind = :kind")
    return out


def _and(conditions: list[str]) -> str:
    return "".join(f" AND {c}" for c in conditions)


def _week_start(day: str) -> str:
    """The Monday of a date's ISO week, by date arithmetic only: no time zone can move a day
    into another week."""
    return f"({day} - (extract(isodow FROM {day})::int - 1))"


async def workload_weeks(session: AsyncSession, f: SupportQuery) -> list[Any]:
    """Hours requested, proposed and accepted, open requests and unmet hours per ISO week,
    asking secretariat and kind; and the same over the whole range (`grouping` not 0).

    Demand side: every request but the cancelled ones, each hour spread evenly over the
    working days of its window (all its days when the window has no working day); unmet
    hours (hours not accepted) are spread the same way. Supply side: allocation_day hours of
    proposed and accepted allocations, on their own dates.

    Days are counted per request and week first (a few rows per request), so the final
    aggregate reads thousands of rows, not one per request-day."""
    in_range = " AND ".join(_days_in_range(f, "day")) or "true"
    sql = f"""
        WITH request AS (
            SELECT r.id, r.secretariat_code, r.kind, r.hours, r.start_date, r.end_date,
                   r.hours - r.hours_accepted AS unmet,
                   r.status IN ('open', 'partially_matched', 'matched') AS is_open
            FROM workload_request r
            WHERE r.status <> 'cancelled'{_and(_own(f, "r") + _request_window(f, "r"))}
        ),
        request_week AS (
            SELECT request.id, {_week_start("day")} AS week_start,
                   count(*) FILTER (WHERE working) AS working_days,
                   count(*) AS days,
                   count(*) FILTER (WHERE working AND {in_range}) AS working_days_in_range,
                   count(*) FILTER (WHERE {in_range}) AS days_in_range
            FROM request,
                 generate_series(0, request.end_date - request.start_date) AS i,
                 LATERAL (
                     SELECT request.start_date + i AS day,
                            extract(isodow FROM request.start_date + i)::int
                                = ANY(:working_days) AS working
                 ) AS d
            GROUP BY request.id, week_start
        ),
        spread AS (
            SELECT id, week_start, working_days_in_range, days_in_range,
                   sum(working_days) OVER (PARTITION BY id) AS window_working_days,
                   sum(days) OVER (PARTITION BY id) AS window_days
            FROM request_week
        ),
        share AS (
            -- The days of each request and week that carry its hours, out of how many.
            SELECT id, week_start,
                   CASE WHEN window_working_days > 0 THEN working_days_in_range
                        ELSE days_in_range END AS counted,
                   CASE WHEN window_working_days > 0 THEN window_working_days
                        ELSE window_days END AS out_of
            FROM spread
        ),
        demand AS (
            SELECT share.week_start, request.secretariat_code, request.kind,
                   request.hours::numeric * counted / out_of AS requested,
                   request.unmet::numeric * counted / out_of AS unmet,
                   CASE WHEN request.is_open THEN request.id END AS open_id,
                   0::bigint AS proposed, 0::bigint AS accepted
            FROM share
            JOIN request ON request.id = share.id
            WHERE counted > 0
        ),
        supply AS (
            SELECT {_week_start("d.day")} AS week_start, r.secretariat_code, r.kind,
                   0::numeric AS requested, 0::numeric AS unmet, NULL::uuid AS open_id,
                   coalesce(sum(d.hours) FILTER (WHERE a.status = 'proposed'), 0) AS proposed,
                   coalesce(sum(d.hours) FILTER (WHERE a.status = 'accepted'), 0) AS accepted
            FROM allocation a
            JOIN allocation_day d ON d.allocation_id = a.id
            JOIN workload_request r ON r.id = a.request_id
            WHERE a.status IN ('proposed', 'accepted')
                {_and(_own(f, "r") + _days_in_range(f, "d.day"))}
            GROUP BY 1, 2, 3
        ),
        weekly AS (
            SELECT * FROM demand UNION ALL SELECT * FROM supply
        )
        SELECT week_start,
               to_char(week_start::timestamp, 'IYYY-"W"IW') AS week,
               secretariat_code AS secretariat, kind,
               coalesce(round(sum(requested), 2), 0)::float8 AS hours_requested,
               coalesce(sum(proposed), 0)::int AS hours_proposed,
               coalesce(sum(accepted), 0)::int AS hours_accepted,
               count(DISTINCT open_id)::int AS open_requests,
               coalesce(round(sum(unmet), 2), 0)::float8 AS unmet_hours,
               GROUPING(week_start, secretariat_code, kind) AS grouping
        FROM weekly
        GROUP BY GROUPING SETS ((week_start, secretariat_code, kind), ())
        ORDER BY grouping, week_start, secretariat, kind
    """
    return list((await session.execute(text(sql), f.params())).all())


def _offer_usage_cte(f: SupportQuery) -> str:
    """`offer_usage`: each offer in the filters with its offered, proposed and accepted hours
    in the range (see service.capacity_stats for what offered means)."""
    start = "greatest(o.start_date, :range_from)" if f.period.start else "o.start_date"
    end = "least(o.end_date, :range_to)" if f.period.end else "o.end_date"
    return f"""
        offer AS (
            SELECT o.*, {start} AS usable_from, {end} AS usable_to
            FROM capacity_offer o
            WHERE true{_and(_own(f, "o") + _request_window(f, "o"))}
        ),
        usable AS (
            SELECT offer.id,
                   count(*) FILTER (
                       WHERE extract(isodow FROM offer.usable_from + i)::int = ANY(:working_days)
                   ) AS working_days
            FROM offer, generate_series(0, offer.usable_to - offer.usable_from) AS i
            GROUP BY offer.id
        ),
        used AS (
            SELECT a.offer_id,
                   coalesce(sum(d.hours) FILTER (WHERE a.status = 'proposed'), 0) AS proposed,
                   coalesce(sum(d.hours) FILTER (WHERE a.status = 'accepted'), 0) AS accepted
            FROM allocation a
            JOIN allocation_day d ON d.allocation_id = a.id
            WHERE a.status IN ('proposed', 'accepted')
              AND a.offer_id IN (SELECT id FROM offer){_and(_days_in_range(f, "d.day"))}
            GROUP BY a.offer_id
        ),
        offer_usage AS (
            SELECT offer.id, offer.title, offer.secretariat_code AS secretariat, offer.kind,
                   offer.status, offer.start_date, offer.end_date, offer.hours_per_day,
                   offer.total_hours, offer.location, offer.travel_ok,
                   CASE WHEN offer.status = 'withdrawn' THEN coalesce(used.accepted, 0)
                        ELSE least(offer.total_hours,
                                   offer.hours_per_day * coalesce(usable.working_days, 0))
                   END AS offered,
                   coalesce(used.proposed, 0) AS proposed,
                   coalesce(used.accepted, 0) AS accepted
            FROM offer
            LEFT JOIN usable ON usable.id = offer.id
            LEFT JOIN used ON used.offer_id = offer.id
        )
    """


def _utilisation(accepted: str, offered: str) -> str:
    return f"CASE WHEN {offered} > 0 THEN round({accepted}::numeric / {offered}, 4)::float8 END"


async def capacity_by_offer(session: AsyncSession, f: SupportQuery) -> list[dict[str, Any]]:
    """Each offer in the filters with its hours offered, proposed and accepted."""
    sql = f"""
        WITH {_offer_usage_cte(f)}
        SELECT id, title, secretariat, kind, status, start_date, end_date, hours_per_day,
               total_hours, location, travel_ok,
               offered::int AS hours_offered, proposed::int AS hours_proposed,
               accepted::int AS hours_accepted, {_utilisation("accepted", "offered")}
                   AS utilisation
        FROM offer_usage
        ORDER BY secretariat, start_date, title, id
    """
    rows = (await session.execute(text(sql), f.params())).mappings()
    return [dict(r) for r in rows]


async def capacity_by_secretariat(session: AsyncSession, f: SupportQuery) -> list[Any]:
    """The offers' hours summed per offering secretariat, and in total (`secretariat` null)."""
    sql = f"""
        WITH {_offer_usage_cte(f)}
        SELECT secretariat, count(*)::int AS offers,
               count(*) FILTER (WHERE status = 'active')::int AS active_offers,
               coalesce(sum(offered), 0)::int AS hours_offered,
               coalesce(sum(proposed), 0)::int AS hours_proposed,
               coalesce(sum(accepted), 0)::int AS hours_accepted,
               {_utilisation("sum(accepted)", "sum(offered)")} AS utilisation,
               GROUPING(secretariat) AS grouping
        FROM offer_usage
        GROUP BY ROLLUP (secretariat)
        ORDER BY grouping, secretariat
    """
    return list((await session.execute(text(sql), f.params())).all())


async def unmet_skills(
    session: AsyncSession, f: SupportQuery, limit: int, requests_per_skill: int
) -> list[Any]:
    """The skills with the most unmet hours (hours asked for and not accepted) among the
    requests in the filters that are not cancelled, with the requests behind each."""
    sql = f"""
        WITH request AS (
            SELECT r.id, r.title, r.secretariat_code AS secretariat, r.kind, r.status,
                   r.priority, r.start_date, r.end_date, r.hours, r.hours_proposed,
                   r.hours_accepted, r.skills, r.meeting_code,
                   r.hours - r.hours_accepted AS unmet,
                   greatest(r.hours - r.hours_accepted - r.hours_proposed, 0) AS unproposed
            FROM workload_request r
            WHERE r.status <> 'cancelled' AND r.hours > r.hours_accepted
                {_and(_own(f, "r") + _request_window(f, "r"))}
        ),
        per_skill AS (
            SELECT skill, request.*,
                   row_number() OVER (
                       PARTITION BY skill ORDER BY unmet DESC, start_date, id
                   ) AS rank
            FROM request, unnest(request.skills) AS skill
        )
        SELECT skill,
               sum(unmet)::int AS unmet_hours,
               sum(unproposed)::int AS unproposed_hours,
               count(*)::int AS requests,
               coalesce(json_agg(
                   json_build_object(
                       'id', id, 'title', title, 'secretariat', secretariat, 'kind', kind,
                       'status', status, 'priority', priority, 'start_date', start_date,
                       'end_date', end_date, 'meeting_code', meeting_code, 'hours', hours,
                       'hours_proposed', hours_proposed, 'hours_accepted', hours_accepted,
                       'unmet_hours', unmet
                   ) ORDER BY rank
               ) FILTER (WHERE rank <= :requests_per_skill), '[]') AS top_requests
        FROM per_skill
        GROUP BY skill
        ORDER BY unmet_hours DESC, skill COLLATE "C"
        LIMIT :limit
    """
    stmt = text(sql).columns(
        column("skill"),
        column("unmet_hours"),
        column("unproposed_hours"),
        column("requests"),
        column("top_requests", JSON),
    )
    params = {**f.params(), "limit": limit, "requests_per_skill": requests_per_skill}
    return list((await session.execute(stmt, params)).all())


def _exchange_hours(f: SupportQuery) -> str:
    """FROM and WHERE of the allocation days in the filters, with both secretariats."""
    involved = (
        ["(o.secretariat_code = :secretariat OR r.secretariat_code = :secretariat)"]
        if f.secretariat is not None
        else []
    )
    kind = ["r.kind = :kind"] if f.kind is not None else []
    return f"""
        FROM allocation a
        JOIN allocation_day d ON d.allocation_id = a.id
        JOIN workload_request r ON r.id = a.request_id
        JOIN capacity_offer o ON o.id = a.offer_id
        WHERE a.status IN ('proposed', 'accepted')
            {_and(involved + kind + _days_in_range(f, "d.day"))}
    """


async def exchange_pairs(session: AsyncSession, f: SupportQuery) -> list[Any]:
    """Hours each secretariat gave to each other one (allocation_day hours in the range),
    with how the accepted ones were given; `grouping` 3 is the total over all pairs."""
    sql = f"""
        SELECT o.secretariat_code AS giver, r.secretariat_code AS receiver,
               coalesce(sum(d.hours) FILTER (WHERE a.status = 'accepted'), 0)::int
                   AS hours_accepted,
               coalesce(sum(d.hours) FILTER (WHERE a.status = 'proposed'), 0)::int
                   AS hours_proposed,
               coalesce(sum(d.hours) FILTER (WHERE a.status = 'accepted' AND NOT r.on_site),
                        0)::int AS remote_hours,
               coalesce(sum(d.hours) FILTER (
                   WHERE a.status = 'accepted' AND r.on_site AND NOT a.travel), 0)::int
                   AS on_site_hours,
               coalesce(sum(d.hours) FILTER (WHERE a.status = 'accepted' AND a.travel),
                        0)::int AS travel_hours,
               GROUPING(o.secretariat_code, r.secretariat_code) AS grouping
        {_exchange_hours(f)}
        GROUP BY GROUPING SETS ((o.secretariat_code, r.secretariat_code), ())
        ORDER BY grouping, giver, receiver
    """
    return list((await session.execute(text(sql), f.params())).all())


async def exchange_balance(session: AsyncSession, f: SupportQuery) -> list[dict[str, Any]]:
    """Accepted and proposed hours each secretariat gave and received in the range."""
    sql = f"""
        WITH given AS (
            SELECT o.secretariat_code AS giver, r.secretariat_code AS receiver,
                   a.status, d.hours
            {_exchange_hours(f)}
        )
        SELECT side.secretariat,
               coalesce(sum(side.given) FILTER (WHERE status = 'accepted'), 0)::int
                   AS hours_given,
               coalesce(sum(side.received) FILTER (WHERE status = 'accepted'), 0)::int
                   AS hours_received,
               coalesce(sum(side.given - side.received) FILTER (WHERE status = 'accepted'),
                        0)::int AS balance,
               coalesce(sum(side.given) FILTER (WHERE status = 'proposed'), 0)::int
                   AS hours_proposed_to_give,
               coalesce(sum(side.received) FILTER (WHERE status = 'proposed'), 0)::int
                   AS hours_proposed_to_receive
        FROM given,
             LATERAL (VALUES (giver, hours, 0), (receiver, 0, hours))
                 AS side(secretariat, given, received)
        GROUP BY side.secretariat
        ORDER BY side.secretariat
    """
    rows = (await session.execute(text(sql), f.params())).mappings()
    return [dict(r) for r in rows]


async def meeting_requests(
    session: AsyncSession, code: str, f: SupportQuery
) -> list[dict[str, Any]]:
    """The requests linked to a meeting, each with its helpers (proposed and accepted
    allocations, with the offer and its secretariat)."""
    sql = f"""
        SELECT r.id, r.title, r.secretariat_code AS secretariat, r.kind, r.status,
               r.priority, r.start_date, r.end_date, r.hours, r.hours_proposed,
               r.hours_accepted, r.on_site, r.location, r.skills,
               coalesce(
                   json_agg(
                       json_build_object(
                           'allocation_id', a.id, 'offer_id', o.id, 'offer_title', o.title,
                           'secretariat', o.secretariat_code, 'status', a.status,
                           'hours', a.hours, 'travel', a.travel,
                           'mode', CASE WHEN NOT r.on_site THEN 'remote'
                                        WHEN a.travel THEN 'travel' ELSE 'on_site' END
                       ) ORDER BY a.status, o.secretariat_code, o.title, a.id
                   ) FILTER (WHERE a.id IS NOT NULL),
                   '[]'
               ) AS helpers
        FROM workload_request r
        LEFT JOIN allocation a
               ON a.request_id = r.id AND a.status IN ('proposed', 'accepted')
        LEFT JOIN capacity_offer o ON o.id = a.offer_id
        WHERE r.meeting_code = :code{_and(_own(f, "r") + _request_window(f, "r"))}
        GROUP BY r.id
        ORDER BY r.start_date, r.title, r.id
    """
    stmt = text(sql).columns(
        *(
            column(name)
            for name in (
                "id",
                "title",
                "secretariat",
                "kind",
                "status",
                "priority",
                "start_date",
                "end_date",
                "hours",
                "hours_proposed",
                "hours_accepted",
                "on_site",
                "location",
                "skills",
            )
        ),
        column("helpers", JSON),
    )
    rows = (await session.execute(stmt, {**f.params(), "code": code})).mappings()
    return [dict(r) for r in rows]


async def meeting_support(session: AsyncSession, code: str, f: SupportQuery) -> dict[str, Any]:
    """Totals of the requests linked to a meeting and of the hours given to them."""
    sql = f"""
        WITH request AS (
            SELECT r.*
            FROM workload_request r
            WHERE r.meeting_code = :code{_and(_own(f, "r") + _request_window(f, "r"))}
        ),
        given AS (
            SELECT
                coalesce(sum(a.hours) FILTER (WHERE a.status = 'accepted' AND NOT r.on_site),
                         0)::int AS remote_hours,
                coalesce(sum(a.hours) FILTER (
                    WHERE a.status = 'accepted' AND r.on_site AND NOT a.travel), 0)::int
                    AS on_site_hours,
                coalesce(sum(a.hours) FILTER (WHERE a.status = 'accepted' AND a.travel),
                         0)::int AS travel_hours,
                count(DISTINCT o.id) FILTER (WHERE a.status = 'accepted')::int
                    AS accepted_offers
            FROM request r
            JOIN allocation a ON a.request_id = r.id AND a.status IN ('proposed', 'accepted')
            JOIN capacity_offer o ON o.id = a.offer_id
        )
        SELECT coalesce(sum(n), 0)::int AS requests,
               coalesce(jsonb_object_agg(status, n) FILTER (WHERE status IS NOT NULL), '{{}}')
                   AS by_status,
               coalesce(sum(requested), 0)::int AS hours_requested,
               coalesce(sum(proposed), 0)::int AS hours_proposed,
               coalesce(sum(accepted), 0)::int AS hours_accepted,
               (SELECT remote_hours FROM given), (SELECT on_site_hours FROM given),
               (SELECT travel_hours FROM given), (SELECT accepted_offers FROM given)
        FROM (
            SELECT status, count(*) AS n,
                   sum(hours) FILTER (WHERE status <> 'cancelled') AS requested,
                   sum(hours_proposed) AS proposed, sum(hours_accepted) AS accepted
            FROM request GROUP BY status
        ) AS per_status
    """
    stmt = text(sql).columns(
        column("requests"),
        column("by_status", JSON),
        column("hours_requested"),
        column("hours_proposed"),
        column("hours_accepted"),
        column("remote_hours"),
        column("on_site_hours"),
        column("travel_hours"),
        column("accepted_offers"),
    )
    return dict((await session.execute(stmt, {**f.params(), "code": code})).mappings().one())


async def meeting_activities(
    session: AsyncSession, code: str, secretariat: str | None
) -> list[Any]:
    """The joint activities reported to a meeting, one row per theme in the register's order
    (the themes with none are left out)."""
    involved = (
        " AND (a.lead_secretariat_code = :secretariat"
        " OR a.partner_secretariat_codes @> ARRAY[CAST(:secretariat AS varchar)])"
        if secretariat is not None
        else ""
    )
    sql = f"""
        SELECT a.theme, count(*)::int AS total,
               json_agg(
                   json_build_object(
                       'id', a.id, 'title', a.title, 'lead_secretariat', a.lead_secretariat_code,
                       'partner_secretariats', a.partner_secretariat_codes,
                       'status', a.status, 'species', a.species
                   ) ORDER BY a.title, a.id
               ) AS activities
        FROM activity a
        WHERE a.meeting_codes @> ARRAY[CAST(:code AS varchar)]{involved}
        GROUP BY a.theme
        ORDER BY array_position(CAST(:themes AS text[]), a.theme::text)
    """
    stmt = text(sql).columns(column("theme"), column("total"), column("activities", JSON))
    params = {"code": code, "secretariat": secretariat, "themes": list(THEME_ORDER)}
    return list((await session.execute(stmt, params)).all())
