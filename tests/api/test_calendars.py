"""Duty stations, closures and each secretariat's calendar of working days."""

from __future__ import annotations

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.factories import Keys


async def _calendar(client: httpx.AsyncClient, keys: Keys, code: str, start: str, end: str):  # type: ignore[no-untyped-def]
    response = await client.get(
        f"/v1/secretariats/{code}/calendar",
        params={"from": start, "to": end},
        headers=keys.cites_read,
    )
    assert response.status_code == 200, response.text
    return {d["date"]: d for d in response.json()["days"]}


async def test_founding_duty_stations_keep_their_cantons_and_lands_holidays(
    client: httpx.AsyncClient, keys: Keys
) -> None:
    stations = (await client.get("/v1/duty-stations", headers=keys.cites_read)).json()["items"]
    assert [(s["locode"], s["country"], s["subdivision"]) for s in stations] == [
        ("CH GVA", "CH", "GE"),
        ("DE BON", "DE", "NW"),
    ]
    geneva = await _calendar(client, keys, "CITES", "2026-09-07", "2026-09-13")
    assert geneva["2026-09-10"]["working"] is False
    assert geneva["2026-09-10"]["reason"] == "public_holiday"
    assert geneva["2026-09-10"]["name"] == "Genevan Fast"
    assert geneva["2026-09-12"]["reason"] == "weekend"
    assert geneva["2026-09-09"] == {
        "date": "2026-09-09",
        "working": True,
        "reason": None,
        "name": None,
    }
    bonn = await _calendar(client, keys, "CMS", "2026-09-07", "2026-09-11")
    assert all(d["working"] for d in bonn.values())
    corpus_christi = await _calendar(client, keys, "CMS", "2026-06-04", "2026-06-04")
    assert corpus_christi["2026-06-04"]["name"] == "Corpus Christi"
    assert (await _calendar(client, keys, "CITES", "2026-06-04", "2026-06-04"))["2026-06-04"][
        "working"
    ]


async def test_secretariat_records_and_removes_its_closure_days(
    client: httpx.AsyncClient, keys: Keys, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    body = {"date": "2026-12-28", "reason": "Year-end closure"}
    refused = await client.post("/v1/secretariats/CITES/closures", json=body, headers=keys.cms)
    assert refused.status_code == 403
    added = await client.post("/v1/secretariats/CITES/closures", json=body, headers=keys.cites)
    assert added.status_code == 201, added.text
    assert added.json() == body
    again = await client.post("/v1/secretariats/CITES/closures", json=body, headers=keys.admin)
    assert again.status_code == 409
    listed = await client.get("/v1/secretariats/CITES/closures", headers=keys.cms)
    assert listed.json()["items"] == [body]
    day = (await _calendar(client, keys, "CITES", "2026-12-28", "2026-12-28"))["2026-12-28"]
    assert day == {
        "date": "2026-12-28",
        "working": False,
        "reason": "closure",
        "name": body["reason"],
    }
    # Each change asks for a matching run.
    async with session_factory() as session:
        reasons = (await session.scalars(text("SELECT reason FROM matching_trigger"))).all()
    assert any(r.startswith("closure.added CITES 2026-12-28") for r in reasons)
    removed = await client.delete("/v1/secretariats/CITES/closures/2026-12-28", headers=keys.cites)
    assert removed.status_code == 204
    gone = await client.delete("/v1/secretariats/CITES/closures/2026-12-28", headers=keys.cites)
    assert gone.status_code == 404
    day = (await _calendar(client, keys, "CITES", "2026-12-28", "2026-12-28"))["2026-12-28"]
    assert day["working"] is True


async def test_admin_maps_a_duty_station_and_the_calendar_follows(
    client: httpx.AsyncClient, keys: Keys
) -> None:
    refused = await client.put(
        "/v1/duty-stations/CH GVA", json={"country": "CH", "subdivision": "VD"}, headers=keys.cites
    )
    assert refused.status_code == 403
    moved = await client.put(
        "/v1/duty-stations/CH GVA", json={"country": "CH", "subdivision": "VD"}, headers=keys.admin
    )
    assert moved.status_code == 200, moved.text
    # Vaud does not keep the Jeûne genevois (it keeps the Monday after instead).
    day = (await _calendar(client, keys, "CITES", "2026-09-10", "2026-09-10"))["2026-09-10"]
    assert day["working"] is True
    new = await client.put("/v1/duty-stations/KE NBO", json={"country": "KE"}, headers=keys.admin)
    assert new.status_code == 201
    assert new.json() == {"locode": "KE NBO", "country": "KE", "subdivision": None}


async def test_bad_calendar_input_is_a_4xx_naming_the_field(
    client: httpx.AsyncClient, keys: Keys
) -> None:
    unknown = await client.put(
        "/v1/duty-stations/CH GVA", json={"country": "CH", "subdivision": "XX"}, headers=keys.admin
    )
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["field"] == "body.subdivision"
    too_long = await client.get(
        "/v1/secretariats/CITES/calendar",
        params={"from": "2026-01-01", "to": "2029-01-01"},
        headers=keys.cites_read,
    )
    assert too_long.status_code == 422
    assert too_long.json()["errors"][0]["field"] == "query.to"
    missing = await client.get(
        "/v1/secretariats/NOPE/calendar",
        params={"from": "2026-01-01", "to": "2026-01-02"},
        headers=keys.cites_read,
    )
    assert missing.status_code == 404
    bad_date = await client.post(
        "/v1/secretariats/CITES/closures",
        json={"date": "2026-13-01", "reason": "x"},
        headers=keys.cites,
    )
    assert bad_date.status_code == 422
    assert bad_date.json()["errors"][0]["field"] == "body.date"
