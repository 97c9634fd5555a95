"""The demo set shows the support workflow at once: requests, offers, proposals to decide."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared import demo
from shared.db import session_scope
from tests.factories import Keys
from tests.support.factories import figures_agree


async def test_demo_has_proposals_waiting_for_a_decision(
    session_factory: async_sessionmaker[AsyncSession], client: httpx.AsyncClient, keys: Keys
) -> None:
    async with session_scope(session_factory) as session:
        first = await demo.seed_demo(session)
    assert (first["workload_requests"], first["capacity_offers"], first["proposals"]) == (4, 4, 4)

    asks = (await client.get("/v1/workload-requests", headers=keys.cms)).json()["items"]
    assert {r["secretariat"] for r in asks} == {"CITES", "CMS"}
    streaming = await client.get(
        "/v1/workload-requests",
        params={"skill": "av-streaming", "secretariat": "CMS"},
        headers=keys.cites,
    )
    # The illustrative history's requests (expired) are not part of today's workflow.
    (bonn,) = [r for r in streaming.json()["items"] if r["status"] != "expired"]
    assert bonn["location"] == "DE BON" and bonn["meeting_code"].startswith("CMS StC")
    waiting = (
        await client.get(
            "/v1/allocations", params={"status": "proposed", "secretariat": "CMS"}, headers=keys.cms
        )
    ).json()["items"]
    assert len(waiting) == 4
    # CMS decides on the proposals of its own offers.
    cms_offers = {
        o["id"]
        for o in (
            await client.get("/v1/capacity-offers", params={"secretariat": "CMS"}, headers=keys.cms)
        ).json()["items"]
    }
    mine = [a for a in waiting if a["offer_id"] in cms_offers]
    assert len(mine) == 2
    accepted = await client.post(f"/v1/allocations/{mine[0]['id']}/accept", headers=keys.cms)
    assert accepted.status_code == 200, accepted.text
    await figures_agree(session_factory)

    # Loading again creates nothing and leaves the decisions alone.
    async with session_scope(session_factory) as session:
        second = await demo.seed_demo(session)
    assert set(second.values()) == {0}
    again = (await client.get(f"/v1/allocations/{mine[0]['id']}", headers=keys.cms)).json()
    assert again["status"] == "accepted"
