"""GET /v1/stats/activities agrees with the same figures recomputed from the activity rows."""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.models import Activity
from tests.factories import Keys, activity_body, create

THEMES = [
    "species",
    "listings_nomenclature",
    "governing_bodies",
    "nbsap",
    "funding",
    "liaison",
    "administration",
    "other",
]
STATUSES = ["planned", "ongoing", "completed", "dropped"]

ACTIVITIES: list[dict[str, Any]] = [
    activity_body(
        title="Elephants",
        species=["Loxodonta africana"],
        start_date="2011-01-01",
        end_date=None,
    ),
    activity_body(
        title="Sharks",
        lead_secretariat="CMS",
        species=["Carcharodon carcharias", "Loxodonta Africana", "Rhincodon typus"],
        start_date="2010-02-12",
        end_date="2012-12-31",
    ),
    activity_body(
        title="Saiga",
        lead_secretariat="CITES",
        partner_secretariats=["CMS"],
        species=["Saiga tatarica", "Loxodonta africana"],
        status="completed",
        start_date="2011-09-01",
        end_date="2011-12-31",
    ),
    activity_body(
        title="Nomenclature",
        theme="listings_nomenclature",
        species=[],
        lead_secretariat="CITES",
        partner_secretariats=[],
        status="planned",
        start_date=None,
        end_date=None,
    ),
    activity_body(
        title="NBSAPs",
        theme="nbsap",
        species=["Saiga tatarica"],
        status="dropped",
        start_date="2009-01-01",
        end_date="2010-06-30",
    ),
    activity_body(
        title="Liaison",
        theme="liaison",
        species=[],
        lead_secretariat="CITES",
        partner_secretariats=["CMS"],
        start_date="2004-05-01",
        end_date=None,
    ),
]


def _in(
    row: Activity, start: date | None, end: date | None, sec: str | None, theme: str | None
) -> bool:
    if start and row.end_date and row.end_date < start:
        return False
    if end and row.start_date and row.start_date > end:
        return False
    if sec and sec != row.lead_secretariat_code and sec not in row.partner_secretariat_codes:
        return False
    return not (theme and row.theme != theme)


def _most_common_spelling(names: list[str]) -> str:
    counts = Counter(names)
    best = max(counts.values())
    return min(name for name, n in counts.items() if n == best)


def _expected(rows: list[Activity], **f: Any) -> dict[str, Any]:
    """The figures from plain Python over the rows."""
    start = date.fromisoformat(f["from"]) if f.get("from") else None
    end = date.fromisoformat(f["to"]) if f.get("to") else None
    kept = [r for r in rows if _in(r, start, end, f.get("secretariat"), f.get("theme"))]
    pairs = Counter((r.theme, r.status) for r in kept)
    leads = Counter(r.lead_secretariat_code for r in kept)
    species: dict[str, list[str]] = {}
    for r in kept:
        for name in r.species:
            species.setdefault(name.lower(), []).append(name)
    top = sorted(species.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    return {
        "total": len(kept),
        "by_theme": [
            {
                "theme": t,
                "activities": sum(pairs[(t, s)] for s in STATUSES),
                "by_status": {s: pairs[(t, s)] for s in STATUSES},
            }
            for t in THEMES
        ],
        "by_status": [
            {"status": s, "activities": sum(pairs[(t, s)] for t in THEMES)} for s in STATUSES
        ],
        "by_lead_secretariat": [
            {"secretariat": k, "activities": n}
            for k, n in sorted(leads.items(), key=lambda kv: (-kv[1], kv[0]))
        ],
        "species": [
            {"species": _most_common_spelling(names), "activities": len(names)}
            for _, names in top[: f.get("species_limit", 10)]
        ],
    }


@pytest.mark.parametrize(
    "filters",
    [
        {},
        {"secretariat": "CITES"},
        {"secretariat": "CMS", "theme": "species"},
        {"from": "2011-06-01", "to": "2011-10-31"},
        {"from": "2013-01-01"},
        {"to": "2010-12-31", "species_limit": 2},
        {"from": "2030-01-01", "to": "2030-12-31", "theme": "funding"},
    ],
)
async def test_activity_figures_agree_with_the_rows(
    client: httpx.AsyncClient,
    keys: Keys,
    session_factory: async_sessionmaker[AsyncSession],
    filters: dict[str, Any],
) -> None:
    for body in ACTIVITIES:
        await create(client, "/v1/activities", body, keys.admin)
    async with session_factory() as session:
        rows = list((await session.scalars(select(Activity))).all())

    response = await client.get("/v1/stats/activities", params=filters, headers=keys.cites_read)

    assert response.status_code == 200, response.text
    figures = response.json()
    assert {k: figures[k] for k in figures if k != "filters"} == _expected(rows, **filters)
    assert figures["filters"]["secretariat"] == filters.get("secretariat")


async def test_species_are_counted_case_insensitively(
    client: httpx.AsyncClient, keys: Keys
) -> None:
    for body in ACTIVITIES[:3]:
        await create(client, "/v1/activities", body, keys.admin)

    figures = (await client.get("/v1/stats/activities", headers=keys.cms)).json()

    assert figures["species"][0] == {"species": "Loxodonta africana", "activities": 3}


async def test_a_range_that_ends_before_it_starts_is_422(
    client: httpx.AsyncClient, keys: Keys
) -> None:
    response = await client.get(
        "/v1/stats/activities", params={"from": "2012-01-01", "to": "2011-01-01"}, headers=keys.cms
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "query.to"
