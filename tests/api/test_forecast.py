"""The forecast of upcoming meetings and the expected shortfall, through the API."""

from __future__ import annotations

from datetime import date, timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.db import session_scope
from shared.models import Meeting, WorkloadRequest
from tests.factories import Keys
from tests.support.factories import monday, offer_body


async def _history(factory: async_sessionmaker[AsyncSession], opening: date) -> None:
    """Three past Standing Committees of CITES, each asking for 20 hours of AV streaming per
    meeting day in its week before the opening."""
    async with session_scope(factory) as session:
        for n in range(3):
            start = opening - timedelta(weeks=52 * (3 - n))
            code = f"CITES SC{70 + n}"
            session.add(
                Meeting(
                    code=code,
                    title=f"Standing Committee {70 + n}",
                    secretariat_code="CITES",
                    body="Standing Committee",
                    location="CH GVA",
                    start_date=start,
                    end_date=start + timedelta(days=4),
                )
            )
            await session.flush()
            session.add(
                WorkloadRequest(
                    secretariat_code="CITES",
                    kind="ict",
                    title="AV streaming",
                    skills=["av-streaming"],
                    start_date=start - timedelta(days=7),
                    end_date=start - timedelta(days=3),
                    hours=100,
                    meeting_code=code,
                    status="expired",
                )
            )


async def test_next_standing_committee_is_forecast_from_the_past_ones(
    client: httpx.AsyncClient, keys: Keys, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    opening = monday(4)
    await _history(session_factory, opening)
    made = await client.post(
        "/v1/meetings",
        json={
            "code": "CITES SC73",
            "title": "Standing Committee 73",
            "secretariat": "CITES",
            "body": "Standing Committee",
            "location": "CH GVA",
            "start_date": opening.isoformat(),
            "end_date": (opening + timedelta(days=4)).isoformat(),
        },
        headers=keys.cites,
    )
    assert made.status_code == 201, made.text
    response = await client.get("/v1/forecast/meetings/CITES SC73", headers=keys.cms)
    assert response.status_code == 200, response.text
    fc = response.json()
    assert fc["based_on"] == ["CITES SC70", "CITES SC71", "CITES SC72"]
    assert fc["same_body"] is True
    assert fc["total"]["expected"] == 100.0
    assert fc["by_kind_skill"] == [
        {"kind": "ict", "skill": "av-streaming", "expected": 100.0, "low": 90.0, "high": 110.0}
    ]
    assert {w["week"] for w in fc["weeks"]} == {-1}

    # CMS offers 4 hours a day of AV streaming in the week before: 20 of the 100 hours.
    offered = await client.post(
        "/v1/capacity-offers",
        json=offer_body(
            kind="ict",
            skills=["av-streaming"],
            start_date=(opening - timedelta(days=7)).isoformat(),
            end_date=(opening - timedelta(days=3)).isoformat(),
            hours_per_day=4,
            total_hours=20,
        ),
        headers=keys.cms,
    )
    assert offered.status_code == 201, offered.text
    short = await client.get(
        "/v1/forecast/shortfall",
        params={
            "from": (opening - timedelta(weeks=2)).isoformat(),
            "to": (opening + timedelta(weeks=1)).isoformat(),
            "secretariat": "CITES",
        },
        headers=keys.cites_read,
    )
    assert short.status_code == 200, short.text
    body = short.json()
    assert [m["code"] for m in body["meetings"]] == ["CITES SC73"]
    week_before = (opening - timedelta(weeks=1)).isoformat()
    row = next(r for r in body["items"] if r["week_start"] == week_before)
    assert row["skill"] == "av-streaming"
    assert row["expected"] == 100.0
    # Bonn's public holidays that week hold no capacity.
    bonn = await client.get(
        "/v1/secretariats/CMS/calendar",
        params={"from": week_before, "to": (opening - timedelta(days=3)).isoformat()},
        headers=keys.cms,
    )
    offered_hours = 4.0 * bonn.json()["working_days"]
    assert row["offered"] == offered_hours
    assert row["shortfall"] == 100.0 - offered_hours
    assert row["meetings"] == ["CITES SC73"]
    assert body["total_shortfall"] == 100.0 - offered_hours


async def test_forecast_input_errors_are_4xx(client: httpx.AsyncClient, keys: Keys) -> None:
    missing = await client.get("/v1/forecast/meetings/CITES SC1", headers=keys.cms)
    assert missing.status_code == 404
    too_long = await client.get(
        "/v1/forecast/shortfall",
        params={"from": "2026-01-01", "to": "2028-01-01"},
        headers=keys.cms,
    )
    assert too_long.status_code == 422
    assert too_long.json()["errors"][0]["field"] == "query.to"
