"""Preview of a matching run and explanations of a request's candidates."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.matching import service
from shared.models import Allocation
from tests.factories import Keys, units
from tests.support.factories import offer_body, post, request_body, week

REQUESTS, OFFERS = "/v1/workload-requests", "/v1/capacity-offers"


async def _allocations(factory: async_sessionmaker[AsyncSession]) -> int:
    async with factory() as session:
        return int(await session.scalar(select(func.count()).select_from(Allocation)) or 0)


async def test_preview_shows_what_a_run_would_change_and_writes_nothing(
    client: httpx.AsyncClient, keys: Keys, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    off = await post(client, OFFERS, offer_body(total_hours=16), keys.cms)
    req = await post(client, REQUESTS, request_body(), keys.cites)
    assert (await client.post("/v1/matching/preview", headers=keys.cites)).status_code == 403

    shown = await client.post("/v1/matching/preview", headers=keys.admin)
    assert shown.status_code == 200, shown.text
    body = shown.json()
    assert [(a["request_id"], a["offer_id"], a["hours"]) for a in body["added"]] == [
        (req["id"], off["id"], 16)
    ]
    assert sum(d["hours"] for d in body["added"][0]["days"]) == 16
    assert body["changed"] == [] and body["dropped"] == []
    assert body["figures"]["weight_served"] == 64
    assert await _allocations(session_factory) == 0

    await service.kick(units(session_factory))
    again = (await client.post("/v1/matching/preview", headers=keys.admin)).json()
    assert (again["added"], again["changed"], again["dropped"], again["unchanged"]) == (
        [],
        [],
        [],
        1,
    )

    # A critical request would take the offer's hours from the high one.
    urgent = await post(
        client, REQUESTS, request_body(title="Urgent", priority="critical"), keys.cites
    )
    after = (await client.post("/v1/matching/preview", headers=keys.admin)).json()
    assert [(d["request_id"], d["hours"], d["previous_hours"]) for d in after["dropped"]] == [
        (req["id"], 0, 16)
    ]
    assert [(a["request_id"], a["hours"]) for a in after["added"]] == [(urgent["id"], 16)]
    assert await _allocations(session_factory) == 1


def _by_title(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["title"]: c for c in body["items"]}


async def test_candidates_name_the_first_excluding_rule_and_where_hours_went(
    client: httpx.AsyncClient, keys: Keys, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    later = week(8)
    req = await post(client, REQUESTS, request_body(hours=16, priority="high"), keys.cites)
    urgent = await post(
        client, REQUESTS, request_body(title="Urgent", hours=8, priority="critical"), keys.cites
    )
    await post(client, OFFERS, offer_body(title="Short", hours_per_day=4, total_hours=8), keys.cms)
    await post(client, OFFERS, offer_body(title="IT", kind="ict"), keys.cms)
    await post(client, OFFERS, offer_body(title="Docs only", skills=["documents"]), keys.cms)
    await post(client, OFFERS, offer_body(title="Own", secretariat="CITES"), keys.cites)
    await post(
        client, OFFERS, offer_body(title="Nairobi", location="KE NBO", travel_ok=False), keys.cms
    )
    await post(
        client,
        OFFERS,
        offer_body(title="Later", start_date=later[0].isoformat(), end_date=later[-1].isoformat()),
        keys.cms,
    )
    gone = await post(client, OFFERS, offer_body(title="Gone"), keys.cms)
    assert (await client.post(f"{OFFERS}/{gone['id']}/withdraw", headers=keys.cms)).is_success
    await service.kick(units(session_factory))

    path = f"{REQUESTS}/{req['id']}/candidates"
    shown = await client.get(path, headers=keys.cms)
    assert shown.status_code == 200, shown.text
    body = shown.json()
    assert (body["weight"], body["remaining"]) == (4, 16)
    by = _by_title(body)
    assert "IT" not in by
    assert {t: c["reason"] for t, c in by.items()} == {
        "Short": None,
        "Docs only": "skills",
        "Own": "same_secretariat",
        "Nairobi": "location",
        "Later": "no_common_working_day",
        "Gone": "offer_withdrawn",
    }
    assert by["Docs only"]["missing_skills"] == ["registration"]
    short = by["Short"]
    assert short["eligible"] and short["travel"] and short["hours_proposed"] == 0
    # Its hours went to the critical request.
    assert (
        short["hours_to_higher_weight"],
        short["hours_to_equal_weight"],
        short["hours_to_lower_weight"],
    ) == (8, 0, 0)

    page = await client.get(
        "/v1/allocations", params={"request_id": urgent["id"]}, headers=keys.cms
    )
    [taken] = page.json()["items"]
    assert (await client.post(f"/v1/allocations/{taken['id']}/accept", headers=keys.cms)).is_success
    by = _by_title((await client.get(path, headers=keys.cms)).json())
    assert by["Short"]["reason"] == "no_capacity_left"
    assert by["Short"]["hours_to_higher_weight"] is None

    await post(client, OFFERS, offer_body(title="Spare"), keys.cms)
    await service.kick(units(session_factory))
    by = _by_title((await client.get(path, headers=keys.cms)).json())
    assert by["Spare"]["hours_proposed"] == 16
    page = await client.get(
        "/v1/allocations", params={"request_id": req["id"], "status": "proposed"}, headers=keys.cms
    )
    [spare] = page.json()["items"]
    declined = await client.post(
        f"/v1/allocations/{spare['id']}/decline", json={"reason": "busy"}, headers=keys.cms
    )
    assert declined.is_success
    by = _by_title((await client.get(path, headers=keys.cms)).json())
    assert by["Spare"]["reason"] == "declined"

    missing = await client.get(
        f"{REQUESTS}/00000000-0000-0000-0000-000000000000/candidates", headers=keys.cms
    )
    assert missing.status_code == 404


async def test_runs_are_listed_newest_first_page_by_page(
    client: httpx.AsyncClient, keys: Keys
) -> None:
    queued = [
        (await client.post("/v1/matching/runs", headers=keys.admin)).json()["id"] for _ in range(3)
    ]
    first = await client.get("/v1/matching/runs", params={"limit": 2}, headers=keys.cites)
    assert first.status_code == 200, first.text
    page = first.json()
    assert [r["id"] for r in page["items"]] == queued[::-1][:2]
    rest = (
        await client.get(
            "/v1/matching/runs",
            params={"limit": 2, "cursor": page["next_cursor"]},
            headers=keys.cites,
        )
    ).json()
    assert [r["id"] for r in rest["items"]] == [queued[0]]
    assert rest["next_cursor"] is None
    bad = await client.get("/v1/matching/runs", params={"cursor": "nonsense"}, headers=keys.cites)
    assert bad.status_code == 400
