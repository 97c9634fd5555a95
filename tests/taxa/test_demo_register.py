"""The demo set's registers show real discrepancies between the appendices, every one of
them tied to the demo's joint activities."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared import demo
from shared.db import session_scope
from tests.factories import Keys


async def test_demo_registers_show_discrepancies_covered_by_joint_activities(
    session_factory: async_sessionmaker[AsyncSession], client: httpx.AsyncClient, keys: Keys
) -> None:
    async with session_scope(session_factory) as session:
        first = await demo.seed_demo(session)
    assert first["taxa"] == 20  # 14 accepted names and 6 synonyms

    got = await client.get("/v1/listings/discrepancies/counts", headers=keys.cites_read)
    assert got.status_code == 200, got.text
    counts = got.json()
    assert counts["counts"]["different_listing"] == 4
    assert counts["counts"]["not_covered"] == 0
    report = (await client.get("/v1/listings/discrepancies", headers=keys.cites_read)).json()[
        "items"
    ]
    elephant = next(e for e in report if e["names"] == ["Loxodonta africana"])
    assert elephant["sentence"] == (
        "CITES lists Loxodonta africana in Appendix I and Appendix II (populations of "
        "Botswana, Namibia, South Africa, Zimbabwe); CMS lists Loxodonta africana in "
        "Appendix II."
    )
    assert [a["title"] for a in elephant["activities"]] == [
        "African elephant: joint support to range States"
    ]
    sharks = [e for e in report if e["family"] in ("lamnidae", "cetorhinidae", "rhincodontidae")]
    assert len(sharks) == 3
    assert all(
        a["title"] == "Sharks: conservation and sustainable trade"
        for e in sharks
        for a in e["activities"]
    )

    elephants = await client.get(
        "/v1/activities", params={"species": "Loxodonta cyclotis"}, headers=keys.cites_read
    )
    assert [a["title"] for a in elephants.json()["items"]] == [elephant["activities"][0]["title"]]
    resolved = elephants.json()["items"][0]["species_resolved"][0]
    assert resolved["status"] == "resolved"
    assert {c: [r["full_name"] for r in v] for c, v in resolved["conventions"].items()} == {
        "CITES": ["Loxodonta africana"],
        "CMS": ["Loxodonta africana"],
    }
