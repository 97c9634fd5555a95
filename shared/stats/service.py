"""The dashboard's figures: shapes the aggregate rows of the repository into the API's form."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from shared.activities.service import THEME_ORDER
from shared.models.activity import ACTIVITY_STATUSES
from shared.stats import repository
from shared.stats.schemas import DateRange

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
