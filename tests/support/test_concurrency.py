"""Accepts racing for the last hours: the limits hold whatever the interleaving."""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.models import Allocation, AllocationDay
from tests.factories import Keys
from tests.support.factories import (
    figures_agree,
    offer_body,
    post,
    proposal,
    propose,
    request_body,
    week,
)

PARALLEL = 20


async def _accept_all(
    client: httpx.AsyncClient, keys: Keys, allocation_ids: list[str]
) -> list[httpx.Response]:
    return list(
        await asyncio.gather(
            *(client.post(f"/v1/allocations/{a}/accept", headers=keys.cms) for a in allocation_ids)
        )
    )


async def test_twenty_parallel_accepts_never_overbook_an_offer(
    client: httpx.AsyncClient, keys: Keys, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    days = week()
    off = await post(client, "/v1/capacity-offers", offer_body(), keys.cms)
    requests = [
        await post(client, "/v1/workload-requests", request_body(title=f"Desk {i}"), keys.cites)
        for i in range(PARALLEL)
    ]
    # 20 proposals of 2 hours, four on each working day: 40 hours, all the offer has.
    await propose(
        session_factory,
        [proposal(r, off, [(days[i % 5], 2)]) for i, r in enumerate(requests)],
    )
    # Then the offer shrinks to 4 hours a day and 14 in all: its last hours are contested.
    shrunk = await client.patch(
        f"/v1/capacity-offers/{off['id']}",
        json={"hours_per_day": 4, "total_hours": 14},
        headers=keys.cms,
    )
    assert shrunk.status_code == 200
    allocation_ids = [
        a["id"]
        for a in (
            await client.get("/v1/allocations", params={"limit": 50}, headers=keys.cms)
        ).json()["items"]
    ]
    assert len(allocation_ids) == PARALLEL

    responses = await _accept_all(client, keys, allocation_ids)

    outcomes = Counter(r.status_code for r in responses)
    assert outcomes == {200: 7, 409: 13}, outcomes
    for r in responses:
        if r.status_code == 409:
            assert r.json()["limit"] in {"offer_day", "offer_total"}
            assert "hours" in r.json()["detail"]
    async with session_factory() as session:
        per_day = dict(
            (
                await session.execute(
                    select(AllocationDay.day, func.sum(AllocationDay.hours))
                    .join(Allocation)
                    .where(Allocation.status == "accepted")
                    .group_by(AllocationDay.day)
                )
            ).all()
        )
    assert max(per_day.values()) <= 4
    assert sum(per_day.values()) == 14
    offer_now = (await client.get(f"/v1/capacity-offers/{off['id']}", headers=keys.cms)).json()
    assert offer_now["hours_accepted"] == 14
    await figures_agree(session_factory)


async def test_twenty_parallel_accepts_never_give_a_request_more_than_it_asks(
    client: httpx.AsyncClient, keys: Keys, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    days = week()
    req = await post(client, "/v1/workload-requests", request_body(hours=40), keys.cites)
    offers = [
        await post(client, "/v1/capacity-offers", offer_body(title=f"Helper {i}"), keys.cms)
        for i in range(PARALLEL)
    ]
    await propose(
        session_factory, [proposal(req, o, [(days[i % 5], 2)]) for i, o in enumerate(offers)]
    )
    assert (
        await client.patch(
            f"/v1/workload-requests/{req['id']}", json={"hours": 10}, headers=keys.cites
        )
    ).status_code == 200
    allocation_ids = [
        a["id"]
        for a in (
            await client.get("/v1/allocations", params={"limit": 50}, headers=keys.cms)
        ).json()["items"]
    ]

    responses = await _accept_all(client, keys, allocation_ids)

    assert Counter(r.status_code for r in responses) == {200: 5, 409: 15}
    assert {r.json()["limit"] for r in responses if r.status_code == 409} == {"request_remaining"}
    req_now = (await client.get(f"/v1/workload-requests/{req['id']}", headers=keys.cms)).json()
    assert (req_now["hours_accepted"], req_now["status"]) == (10, "fulfilled")
    await figures_agree(session_factory)
