"""Every SQL statement of the stats: aggregate queries, one round trip per figure set."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, func, literal_column, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from shared.models import Activity
from shared.stats.schemas import DateRange


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
