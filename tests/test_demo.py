"""The demo set loads, shows upcoming work, and loading it again changes nothing."""

from __future__ import annotations

from datetime import date

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared import demo
from shared.db import session_scope
from tests.factories import Keys


async def test_seed_demo_is_repeatable_and_shows_upcoming_meetings(
    session_factory: async_sessionmaker[AsyncSession], client: httpx.AsyncClient, keys: Keys
) -> None:
    async with session_scope(session_factory) as session:
        first = await demo.seed_demo(session)
    async with session_scope(session_factory) as session:
        second = await demo.seed_demo(session)
    assert first["meetings"] == 5
    assert first["activities"] >= 8
    assert set(second.values()) == {0}

    meetings = (await client.get("/v1/meetings", headers=keys.cites_read)).json()["items"]
    codes = {m["code"] for m in meetings}
    assert {"CITES SC61", "CMS StC38", "CMS CoP10"} <= codes
    upcoming = [m for m in meetings if date.fromisoformat(m["start_date"]) > date.today()]
    assert {m["secretariat"] for m in upcoming} == {"CITES", "CMS"}
    elephants = await client.get(
        "/v1/activities", params={"species": "loxodonta AFRICANA"}, headers=keys.cites_read
    )
    assert [a["title"] for a in elephants.json()["items"]] == [
        "African elephant: joint support to range States"
    ]


async def test_demo_shows_a_forecast_and_a_shortfall_for_the_upcoming_meetings(
    session_factory: async_sessionmaker[AsyncSession], client: httpx.AsyncClient, keys: Keys
) -> None:
    async with session_scope(session_factory) as session:
        await demo.seed_demo(session)
    meetings = (await client.get("/v1/meetings", headers=keys.cites_read)).json()["items"]
    upcoming = {
        m["secretariat"]: m["code"]
        for m in meetings
        if date.fromisoformat(m["start_date"]) > date.today()
    }
    fc = (await client.get(f"/v1/forecast/meetings/{upcoming['CITES']}", headers=keys.cms)).json()
    assert fc["same_body"] is True
    assert len(fc["based_on"]) >= 3
    assert all(code.startswith("CITES SC") for code in fc["based_on"])
    assert fc["total"]["expected"] > 0
    short = (await client.get("/v1/forecast/shortfall", headers=keys.cites_read)).json()
    assert {m["code"] for m in short["meetings"]} >= set(upcoming.values())
    assert short["total_shortfall"] > 0
    closures = (await client.get("/v1/secretariats/CMS/closures", headers=keys.cms)).json()
    assert any(c["reason"] == "Year-end closure" for c in closures["items"])
