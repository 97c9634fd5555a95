"""Deciding on allocations: every limit of matching.md is re-checked when accepting."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.worker.tasks import workload_requests
from shared.db import session_scope
from shared.support.requests import service as requests
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

REQUESTS = "/v1/workload-requests"
OFFERS = "/v1/capacity-offers"


async def _allocations(client: httpx.AsyncClient, keys: Keys, **params: Any) -> list[Any]:
    response = await client.get("/v1/allocations", params=params, headers=keys.cites_read)
    assert response.status_code == 200, response.text
    items: list[Any] = response.json()["items"]
    return items


async def _accept(client: httpx.AsyncClient, keys: Keys, allocation_id: str) -> httpx.Response:
    return await client.post(f"/v1/allocations/{allocation_id}/accept", headers=keys.cms)


async def _two_proposals(
    client: httpx.AsyncClient,
    keys: Keys,
    factory: async_sessionmaker[AsyncSession],
    *,
    same_request: bool = False,
    hours: tuple[int, int] = (6, 2),
) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
    """Two proposals on the same day; of one offer for two requests, or for one request of
    two offers. Returns (request, offer, [first, second])."""
    days = week()
    req = await post(client, REQUESTS, request_body(hours=16), keys.cites)
    off = await post(client, OFFERS, offer_body(), keys.cms)
    if same_request:
        off2 = await post(client, OFFERS, offer_body(title="Second"), keys.cms)
        pairs = [(req, off), (req, off2)]
    else:
        req2 = await post(client, REQUESTS, request_body(title="Second"), keys.cites)
        pairs = [(req, off), (req2, off)]
    await propose(
        factory,
        [proposal(r, o, [(days[0], h)]) for (r, o), h in zip(pairs, hours, strict=True)],
    )
    items = await _allocations(client, keys)
    ordered = [
        next(a for a in items if (a["request_id"], a["offer_id"]) == (r["id"], o["id"]))
        for r, o in pairs
    ]
    return req, off, ordered


async def test_accept_refuses_more_than_the_offer_gives_on_a_day(
    client: httpx.AsyncClient, keys: Keys, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    _, off, (first, second) = await _two_proposals(client, keys, session_factory)
    # The offer shrinks after the run: both proposals no longer fit together.
    assert (
        await client.patch(f"{OFFERS}/{off['id']}", json={"hours_per_day": 6}, headers=keys.cms)
    ).is_success
    assert (await _accept(client, keys, first["id"])).status_code == 200
    refused = await _accept(client, keys, second["id"])
    assert refused.status_code == 409
    problem = refused.json()
    assert problem["limit"] == "offer_day" and problem["day"] == week()[0].isoformat()
    assert "0 of its 6 hours per day left" in problem["detail"]
    again = (await client.get(f"/v1/allocations/{second['id']}", headers=keys.cms)).json()
    assert again["status"] == "proposed" and again["version"] == 1
    await figures_agree(session_factory)


async def test_accept_refuses_more_than_the_offer_gives_in_total(
    client: httpx.AsyncClient, keys: Keys, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    _, off, (first, second) = await _two_proposals(client, keys, session_factory)
    assert (
        await client.patch(f"{OFFERS}/{off['id']}", json={"total_hours": 7}, headers=keys.cms)
    ).is_success
    assert (await _accept(client, keys, first["id"])).status_code == 200
    refused = await _accept(client, keys, second["id"])
    assert refused.status_code == 409 and refused.json()["limit"] == "offer_total"
    assert "1 of its 7 hours left" in refused.json()["detail"]


async def test_accept_refuses_more_than_the_request_needs(
    client: httpx.AsyncClient, keys: Keys, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    req, _, (first, second) = await _two_proposals(
        client, keys, session_factory, same_request=True, hours=(8, 8)
    )
    assert (
        await client.patch(f"{REQUESTS}/{req['id']}", json={"hours": 10}, headers=keys.cites)
    ).is_success
    assert (await _accept(client, keys, first["id"])).status_code == 200
    refused = await _accept(client, keys, second["id"])
    assert refused.status_code == 409 and refused.json()["limit"] == "request_remaining"
    assert "needs 2 more of its 10 hours" in refused.json()["detail"]
    await figures_agree(session_factory)


async def test_accept_refuses_a_proposal_the_request_outgrew(
    client: httpx.AsyncClient, keys: Keys, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    req, _, (first, second) = await _two_proposals(client, keys, session_factory)
    # New skill the offer lacks: the proposal is stale until matching runs again.
    assert (
        await client.patch(
            f"{REQUESTS}/{req['id']}",
            json={"skills": ["registration", "arabic"]},
            headers=keys.cites,
        )
    ).is_success
    refused = await _accept(client, keys, first["id"])
    assert refused.status_code == 409 and refused.json()["limit"] == "eligibility"
    assert "arabic" in refused.json()["detail"]
    # A window that no longer covers the proposed day.
    days = week()
    req2 = second["request_id"]
    assert (
        await client.patch(
            f"{REQUESTS}/{req2}", json={"start_date": days[1].isoformat()}, headers=keys.cites
        )
    ).is_success
    refused = await _accept(client, keys, second["id"])
    assert refused.status_code == 409 and refused.json()["limit"] == "window"


async def test_accept_refuses_an_expired_request(
    client: httpx.AsyncClient, keys: Keys, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    _req, _, (first, _second) = await _two_proposals(client, keys, session_factory)
    async with session_scope(session_factory) as session:
        expired = await requests.expire_overdue(session, date.today() + timedelta(days=60))
    assert len(expired) == 2
    refused = await _accept(client, keys, first["id"])
    assert refused.status_code == 409 and refused.json()["limit"] == "request_open"
    assert "expired" in refused.json()["detail"]


async def test_only_proposals_can_be_accepted_or_declined(
    client: httpx.AsyncClient, keys: Keys, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    _, _, (first, second) = await _two_proposals(client, keys, session_factory)
    assert (await _accept(client, keys, first["id"])).status_code == 200
    twice = await _accept(client, keys, first["id"])
    assert twice.status_code == 409 and "accepted" in twice.json()["detail"]
    decline = await client.post(
        f"/v1/allocations/{first['id']}/decline", json={"reason": "late"}, headers=keys.cms
    )
    assert decline.status_code == 409
    cancelled = await client.post(
        f"/v1/allocations/{second['id']}/cancel", json={"reason": "not needed"}, headers=keys.cms
    )
    assert cancelled.status_code == 200
    for verb in ("accept", "cancel"):
        response = await client.post(
            f"/v1/allocations/{second['id']}/{verb}", json={"reason": "x"}, headers=keys.cms
        )
        assert response.status_code == 409, verb
    missing = await client.post(
        "/v1/allocations/00000000-0000-4000-8000-000000000000/accept", headers=keys.cms
    )
    assert missing.status_code == 404


async def test_decisions_need_the_approve_scope_of_the_right_side(
    client: httpx.AsyncClient, keys: Keys, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    _, _, (first, _second) = await _two_proposals(client, keys, session_factory)
    for key in (keys.cms_write_only, keys.cites_read):
        response = await client.post(f"/v1/allocations/{first['id']}/accept", headers=key)
        assert response.status_code == 403
        assert "approve" in response.json()["detail"]
    for verb, body in (("accept", None), ("decline", {"reason": "no"})):
        response = await client.post(
            f"/v1/allocations/{first['id']}/{verb}", json=body, headers=keys.cites
        )
        assert response.status_code == 403, verb
        assert "CMS" in response.json()["detail"]
    stale = await client.post(
        f"/v1/allocations/{first['id']}/accept", headers={**keys.cms, "If-Match": '"7"'}
    )
    assert stale.status_code == 412
    unchanged = (await client.get(f"/v1/allocations/{first['id']}", headers=keys.cms)).json()
    assert unchanged["status"] == "proposed" and unchanged["version"] == 1


async def test_allocations_list_by_side_and_status(
    client: httpx.AsyncClient, keys: Keys, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    req, off, (first, second) = await _two_proposals(client, keys, session_factory)
    cms_asks = await post(
        client, REQUESTS, request_body(secretariat="CMS", location="DE BON"), keys.cms
    )
    cites_offers = await post(client, OFFERS, offer_body(secretariat="CITES"), keys.cites)
    await propose(
        session_factory,
        [
            proposal(req, off, [(week()[0], 6)]),
            proposal(await _get(client, keys, second["request_id"]), off, [(week()[0], 2)]),
            proposal(cms_asks, cites_offers, [(week()[3], 5)]),
        ],
    )
    assert (await _accept(client, keys, first["id"])).status_code == 200
    everything = await _allocations(client, keys)
    assert len(everything) == 3
    ids = {a["id"] for a in everything}
    assert {first["id"], second["id"]} <= ids  # identical proposals kept their ids
    assert len(await _allocations(client, keys, secretariat="CMS")) == 3
    cites_side = await _allocations(client, keys, secretariat="CITES")
    assert len(cites_side) == 3
    reverse = await _allocations(client, keys, offer_id=cites_offers["id"])
    assert [a["request_id"] for a in reverse] == [cms_asks["id"]]
    assert [a["id"] for a in await _allocations(client, keys, status="accepted")] == [first["id"]]
    assert len(await _allocations(client, keys, request_id=req["id"])) == 1
    assert await _allocations(client, keys, secretariat="UNEP") == []
    assert (
        await client.get("/v1/allocations", params={"status": "maybe"}, headers=keys.cms)
    ).status_code == 422


async def _get(client: httpx.AsyncClient, keys: Keys, request_id: str) -> dict[str, Any]:
    data: dict[str, Any] = (await client.get(f"{REQUESTS}/{request_id}", headers=keys.cms)).json()
    return data


async def test_expiry_marks_overdue_requests_once(
    client: httpx.AsyncClient, keys: Keys, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    req = await post(client, REQUESTS, request_body(), keys.cites)
    later = week(8)
    kept = await post(
        client,
        REQUESTS,
        request_body(start_date=later[0].isoformat(), end_date=later[-1].isoformat()),
        keys.cites,
    )
    async with session_scope(session_factory) as session:
        expired = await requests.expire_overdue(
            session, date.fromisoformat(req["end_date"]) + timedelta(days=1)
        )
    assert [str(i) for i in expired] == [req["id"]]
    now = await _get(client, keys, req["id"])
    assert now["status"] == "expired"
    assert (await _get(client, keys, kept["id"]))["status"] == "open"
    history = (await client.get(f"{REQUESTS}/{req['id']}/history", headers=keys.cms)).json()
    last = history["items"][-1]
    assert (last["action"], last["actor"]) == ("expired", "system")
    assert last["changes"]["status"] == {"from": "open", "to": "expired"}
    # The scheduled task finds nothing more to do today.
    assert await workload_requests.expire({"session_factory": session_factory}) == 0
    edit = await client.patch(f"{REQUESTS}/{req['id']}", json={"hours": 3}, headers=keys.cites)
    assert edit.status_code == 409
