"""Matching only uses usable days: no hours on a holiday or closure of either secretariat,
nor on a day the offer's people are away; the explanation names the day off."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import holidays
import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.matching import service
from tests.factories import Keys, units
from tests.support.factories import offer_body, post, request_body, week

REQUESTS, OFFERS = "/v1/workload-requests", "/v1/capacity-offers"


async def _proposed_days(client: httpx.AsyncClient, keys: Keys) -> dict[str, list[date]]:
    items = (
        await client.get("/v1/allocations", params={"status": "proposed"}, headers=keys.cms)
    ).json()["items"]
    return {a["id"]: [date.fromisoformat(d["date"]) for d in a["days"]] for a in items}


def _genevan_fast() -> date:
    """The next Jeûne genevois at least two weeks away (a Thursday, a Geneva holiday only)."""
    year = date.today().year
    while True:
        table = holidays.country_holidays("CH", subdiv="GE", years=[year])
        found = [d for d, name in table.items() if name == "Genevan Fast"]
        if found and found[0] > date.today() + timedelta(days=14):
            return found[0]
        year += 1


async def test_no_proposal_falls_on_a_holiday_closure_or_away_day_of_either_side(
    client: httpx.AsyncClient, keys: Keys, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    days = week()
    closed = await client.post(
        "/v1/secretariats/CITES/closures",
        json={"date": days[1].isoformat(), "reason": "UN day"},
        headers=keys.cites,
    )
    assert closed.status_code == 201
    closed = await client.post(
        "/v1/secretariats/CMS/closures",
        json={"date": days[2].isoformat(), "reason": "Staff retreat"},
        headers=keys.cms,
    )
    assert closed.status_code == 201
    req = await post(client, REQUESTS, request_body(hours=40), keys.cites)
    off = await post(
        client,
        OFFERS,
        offer_body(unavailable_dates=[days[3].isoformat()], total_hours=40),
        keys.cms,
    )
    await service.kick(units(session_factory))
    proposed = await _proposed_days(client, keys)
    assert len(proposed) == 1
    used = next(iter(proposed.values()))
    assert set(used) == {days[0], days[4]}

    # The explanation, once the request's only days left are closed, names them.
    short = await post(
        client,
        REQUESTS,
        request_body(
            title="Two days only",
            start_date=days[2].isoformat(),
            end_date=days[3].isoformat(),
        ),
        keys.cites,
    )
    explained = (
        await client.get(f"{REQUESTS}/{short['id']}/candidates", headers=keys.cites)
    ).json()
    item = next(c for c in explained["items"] if c["offer_id"] == off["id"])
    assert item["eligible"] is False
    assert item["reason"] == "days_off"
    assert item["days_off"] == [
        {
            "date": days[2].isoformat(),
            "side": "offer",
            "reason": "closure",
            "name": "Staff retreat",
        },
        {"date": days[3].isoformat(), "side": "offer", "reason": "unavailable", "name": "away"},
    ]
    assert req["id"] != short["id"]


async def test_a_closure_added_after_a_run_replaces_the_proposals_on_that_day(
    client: httpx.AsyncClient, keys: Keys, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    days = week()
    await post(client, REQUESTS, request_body(hours=16), keys.cites)
    await post(client, OFFERS, offer_body(total_hours=40), keys.cms)
    await service.kick(units(session_factory))
    (before,) = (await _proposed_days(client, keys)).values()
    closing = before[0]
    added = await client.post(
        "/v1/secretariats/CMS/closures",
        json={"date": closing.isoformat(), "reason": "Year-end closure"},
        headers=keys.cms,
    )
    assert added.status_code == 201
    # Accepting a proposal that now uses a closed day is refused.
    (alloc_id,) = (await _proposed_days(client, keys)).keys()
    refused = await client.post(f"/v1/allocations/{alloc_id}/accept", headers=keys.cms)
    assert refused.status_code == 409, refused.text
    assert refused.json()["limit"] == "window"

    run = await service.kick(units(session_factory))
    assert run is not None and "closure.added CMS" in run.trigger
    (after,) = (await _proposed_days(client, keys)).values()
    assert closing not in after
    assert sum(1 for _ in after) >= 2
    assert set(after) <= set(days) - {closing}
    (alloc_id,) = (await _proposed_days(client, keys)).keys()
    accepted = await client.post(f"/v1/allocations/{alloc_id}/accept", headers=keys.cms)
    assert accepted.status_code == 200, accepted.text


async def test_a_geneva_holiday_keeps_bonn_from_working_for_geneva_that_day(
    client: httpx.AsyncClient, keys: Keys, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    holiday = _genevan_fast()
    monday = holiday - timedelta(days=holiday.weekday())
    window: dict[str, Any] = {
        "start_date": monday.isoformat(),
        "end_date": (monday + timedelta(days=4)).isoformat(),
    }
    await post(client, REQUESTS, request_body(hours=40, **window), keys.cites)
    await post(client, OFFERS, offer_body(total_hours=40, **window), keys.cms)
    await service.kick(units(session_factory))
    (used,) = (await _proposed_days(client, keys)).values()
    assert holiday not in used
    assert len(used) == 4

    only = await post(
        client,
        REQUESTS,
        request_body(start_date=holiday.isoformat(), end_date=holiday.isoformat()),
        keys.cites,
    )
    explained = (await client.get(f"{REQUESTS}/{only['id']}/candidates", headers=keys.cms)).json()
    (item,) = explained["items"]
    assert item["reason"] == "days_off"
    assert item["days_off"] == [
        {
            "date": holiday.isoformat(),
            "side": "request",
            "reason": "public_holiday",
            "name": "Genevan Fast",
        }
    ]
