"""The whole support workflow over HTTP: ask, offer, propose, decide, and what follows."""

from __future__ import annotations

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.models import Change, Event, MatchingTrigger
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


async def _events(factory: async_sessionmaker[AsyncSession]) -> list[str]:
    async with factory() as session:
        return list(await session.scalars(select(Event.type).order_by(Event.seq)))


async def _triggers(factory: async_sessionmaker[AsyncSession]) -> list[str]:
    async with factory() as session:
        return list(
            await session.scalars(select(MatchingTrigger.reason).order_by(MatchingTrigger.id))
        )


async def test_request_offer_proposal_acceptance_end_to_end(
    client: httpx.AsyncClient,
    keys: Keys,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    # CITES asks, CMS offers: each with its own key.
    req = await post(client, "/v1/workload-requests", request_body(), keys.cites)
    off = await post(client, "/v1/capacity-offers", offer_body(), keys.cms)
    assert req["status"] == "open" and req["hours_proposed"] == req["hours_accepted"] == 0
    assert off["status"] == "active"
    assert await _triggers(session_factory) == [
        f"workload_request.created {req['id']}",
        f"capacity_offer.created {off['id']}",
    ]

    # The matching hook proposes 8 hours on each of two days (a travel pair: Bonn to Geneva).
    days = week()
    diff = await propose(session_factory, [proposal(req, off, [(days[0], 8), (days[1], 8)])])
    assert len(diff.added) == 1 and not diff.changed and not diff.dropped
    await figures_agree(session_factory)
    listed = await client.get(
        "/v1/allocations", params={"request_id": req["id"]}, headers=keys.cites_read
    )
    (alloc,) = listed.json()["items"]
    assert alloc["status"] == "proposed" and alloc["travel"] is True
    assert alloc["days"] == [
        {"date": days[0].isoformat(), "hours": 8},
        {"date": days[1].isoformat(), "hours": 8},
    ]
    req_now = (await client.get(f"/v1/workload-requests/{req['id']}", headers=keys.cites)).json()
    assert (req_now["status"], req_now["hours_proposed"]) == ("matched", 16)

    # The asking side cannot accept; the offering side's approve key does.
    refused = await client.post(f"/v1/allocations/{alloc['id']}/accept", headers=keys.cites)
    assert refused.status_code == 403
    accepted = await client.post(
        f"/v1/allocations/{alloc['id']}/accept",
        json={"reason": "Anna will go to Geneva"},
        headers=keys.cms,
    )
    assert accepted.status_code == 200, accepted.text
    body = accepted.json()
    assert body["status"] == "accepted"
    assert body["decided_by"] == "cms-coordinator" and body["decided_at"]
    assert body["reason"] == "Anna will go to Geneva"
    assert accepted.headers["etag"] == f'"{body["version"]}"'
    await figures_agree(session_factory)

    req_now = (await client.get(f"/v1/workload-requests/{req['id']}", headers=keys.cites)).json()
    off_now = (await client.get(f"/v1/capacity-offers/{off['id']}", headers=keys.cms)).json()
    assert (req_now["status"], req_now["hours_proposed"], req_now["hours_accepted"]) == (
        "fulfilled",
        0,
        16,
    )
    assert (off_now["hours_proposed"], off_now["hours_accepted"]) == (0, 16)

    # History: who, when, what, from what to what.
    history = (
        await client.get(f"/v1/allocations/{alloc['id']}/history", headers=keys.cites_read)
    ).json()["items"]
    assert [e["action"] for e in history] == ["proposed", "accepted"]
    assert history[0]["actor"] == "matching"
    assert history[1]["actor"] == "cms-coordinator"
    assert history[1]["changes"]["status"] == {"from": "proposed", "to": "accepted"}
    assert history[1]["reason"] == "Anna will go to Geneva"
    req_history = (
        await client.get(f"/v1/workload-requests/{req['id']}/history", headers=keys.cms)
    ).json()["items"]
    assert [(e["action"], e["actor"]) for e in req_history] == [
        ("created", "cites-coordinator"),
        ("figures_updated", "matching"),
        ("figures_updated", "cms-coordinator"),
    ]
    assert req_history[0]["changes"]["hours"] == {"from": None, "to": 16}
    assert req_history[2]["changes"]["status"] == {"from": "matched", "to": "fulfilled"}
    assert (
        [e["version"] for e in req_history] == [1, 2, 3] == list(range(1, req_now["version"] + 1))
    )
    off_history = (
        await client.get(f"/v1/capacity-offers/{off['id']}/history", headers=keys.cms)
    ).json()["items"]
    assert off_history[-1]["changes"]["hours_accepted"] == {"from": 0, "to": 16}

    # Other systems hear of it: events and the change feed.
    assert await _events(session_factory) == [
        "allocation.proposed",
        "workload_request.matched",
        "allocation.accepted",
        "workload_request.fulfilled",
    ]
    async with session_factory() as session:
        feed = (
            await session.execute(
                select(Change.resource_type, Change.op, Change.version).where(
                    Change.resource_id.in_([req["id"], alloc["id"]])
                )
            )
        ).all()
    assert set(feed) >= {
        ("workload_request", "create", 1),
        ("workload_request", "update", 3),
        ("allocation", "create", 1),
        ("allocation", "update", 2),
    }
    # Accepting starts no matching run of its own; creating did.
    assert len(await _triggers(session_factory)) == 2


async def test_decline_bans_the_pair_and_asks_for_a_new_run(
    client: httpx.AsyncClient,
    keys: Keys,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    req = await post(client, "/v1/workload-requests", request_body(), keys.cites)
    off = await post(client, "/v1/capacity-offers", offer_body(), keys.cms)
    days = week()
    await propose(session_factory, [proposal(req, off, [(days[2], 4)])])
    (alloc,) = (await client.get("/v1/allocations", headers=keys.cms)).json()["items"]

    no_reason = await client.post(f"/v1/allocations/{alloc['id']}/decline", headers=keys.cms)
    assert no_reason.status_code == 422
    empty = await client.post(
        f"/v1/allocations/{alloc['id']}/decline", json={"reason": "  "}, headers=keys.cms
    )
    assert empty.status_code == 422
    assert empty.json()["errors"][0]["field"] == "body.reason"
    still = (await client.get(f"/v1/allocations/{alloc['id']}", headers=keys.cms)).json()
    assert still["status"] == "proposed" and still["version"] == 1

    declined = await client.post(
        f"/v1/allocations/{alloc['id']}/decline",
        json={"reason": "Our colleague is needed in Bonn that week"},
        headers=keys.cms,
    )
    assert declined.status_code == 200
    assert declined.json()["status"] == "declined"
    assert declined.json()["decided_by"] == "cms-coordinator"
    await figures_agree(session_factory)
    assert (await _triggers(session_factory))[-1] == f"allocation.declined {alloc['id']}"
    assert "allocation.declined" in await _events(session_factory)

    # Declining again, or accepting now, is refused: it is no longer a proposal.
    again = await client.post(f"/v1/allocations/{alloc['id']}/accept", headers=keys.cms)
    assert again.status_code == 409
    assert "declined" in again.json()["detail"]


async def test_either_side_may_cancel_an_accepted_allocation(
    client: httpx.AsyncClient,
    keys: Keys,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    req = await post(client, "/v1/workload-requests", request_body(), keys.cites)
    off = await post(client, "/v1/capacity-offers", offer_body(), keys.cms)
    days = week()
    await propose(session_factory, [proposal(req, off, [(days[0], 8), (days[1], 8)])])
    (alloc,) = (await client.get("/v1/allocations", headers=keys.cms)).json()["items"]
    assert (await client.post(f"/v1/allocations/{alloc['id']}/accept", headers=keys.cms)).is_success

    reader = await client.post(
        f"/v1/allocations/{alloc['id']}/cancel", json={"reason": "x"}, headers=keys.cites_read
    )
    assert reader.status_code == 403
    cancelled = await client.post(
        f"/v1/allocations/{alloc['id']}/cancel",
        json={"reason": "The session moved online"},
        headers=keys.cites,
    )
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["decided_by"] == "cites-coordinator"
    await figures_agree(session_factory)
    req_now = (await client.get(f"/v1/workload-requests/{req['id']}", headers=keys.cites)).json()
    assert (req_now["status"], req_now["hours_accepted"]) == ("open", 0)
    assert "allocation.cancelled" in await _events(session_factory)
    assert (await _triggers(session_factory))[-1] == f"allocation.cancelled {alloc['id']}"


async def test_cancelling_a_request_releases_its_allocations(
    client: httpx.AsyncClient,
    keys: Keys,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    req = await post(client, "/v1/workload-requests", request_body(hours=24), keys.cites)
    off = await post(client, "/v1/capacity-offers", offer_body(), keys.cms)
    off2 = await post(client, "/v1/capacity-offers", offer_body(title="Second assistant"), keys.cms)
    days = week()
    await propose(
        session_factory,
        [
            proposal(req, off, [(days[0], 8)]),
            proposal(req, off2, [(days[1], 8), (days[2], 8)]),
        ],
    )
    items = (await client.get("/v1/allocations", headers=keys.cms)).json()["items"]
    first = next(a for a in items if a["offer_id"] == off["id"])
    second = next(a for a in items if a["offer_id"] == off2["id"])
    assert (await client.post(f"/v1/allocations/{first['id']}/accept", headers=keys.cms)).is_success

    other = await client.post(f"/v1/workload-requests/{req['id']}/cancel", headers=keys.cms)
    assert other.status_code == 403
    cancelled = await client.post(
        f"/v1/workload-requests/{req['id']}/cancel",
        json={"reason": "The meeting was postponed"},
        headers=keys.cites,
    )
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["hours_accepted"] == cancelled.json()["hours_proposed"] == 0
    await figures_agree(session_factory)

    kept = (await client.get(f"/v1/allocations/{first['id']}", headers=keys.cms)).json()
    assert kept["status"] == "cancelled"
    assert kept["reason"] == "workload request cancelled: The meeting was postponed"
    gone = await client.get(f"/v1/allocations/{second['id']}", headers=keys.cms)
    assert gone.status_code == 404
    dropped = (
        await client.get(f"/v1/allocations/{second['id']}/history", headers=keys.cms)
    ).json()["items"]
    assert [e["action"] for e in dropped] == ["proposed", "dropped"]

    # Cancelling twice changes nothing; a cancelled request cannot be edited.
    twice = await client.post(f"/v1/workload-requests/{req['id']}/cancel", headers=keys.cites)
    assert twice.status_code == 200 and twice.json()["version"] == cancelled.json()["version"]
    edit = await client.patch(
        f"/v1/workload-requests/{req['id']}", json={"hours": 30}, headers=keys.cites
    )
    assert edit.status_code == 409
    history = (
        await client.get(f"/v1/workload-requests/{req['id']}/history", headers=keys.cites)
    ).json()["items"]
    assert history[-1]["action"] == "cancelled"
    assert history[-1]["reason"] == "The meeting was postponed"
    assert history[-1]["changes"]["status"]["to"] == "cancelled"


async def test_withdrawing_an_offer_drops_proposals_and_keeps_accepted_hours(
    client: httpx.AsyncClient,
    keys: Keys,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    req = await post(client, "/v1/workload-requests", request_body(), keys.cites)
    req2 = await post(
        client, "/v1/workload-requests", request_body(title="Documents desk"), keys.cites
    )
    off = await post(client, "/v1/capacity-offers", offer_body(), keys.cms)
    days = week()
    await propose(
        session_factory,
        [proposal(req, off, [(days[0], 4)]), proposal(req2, off, [(days[1], 4)])],
    )
    items = (await client.get("/v1/allocations", headers=keys.cms)).json()["items"]
    first = next(a for a in items if a["request_id"] == req["id"])
    assert (await client.post(f"/v1/allocations/{first['id']}/accept", headers=keys.cms)).is_success

    not_theirs = await client.post(f"/v1/capacity-offers/{off['id']}/withdraw", headers=keys.cites)
    assert not_theirs.status_code == 403
    withdrawn = await client.post(
        f"/v1/capacity-offers/{off['id']}/withdraw",
        json={"reason": "Needed for our own CoP"},
        headers=keys.cms,
    )
    assert withdrawn.status_code == 200
    assert withdrawn.json()["status"] == "withdrawn"
    assert (withdrawn.json()["hours_accepted"], withdrawn.json()["hours_proposed"]) == (4, 0)
    await figures_agree(session_factory)
    statuses = {
        a["request_id"]: a["status"]
        for a in (await client.get("/v1/allocations", headers=keys.cms)).json()["items"]
    }
    assert statuses == {req["id"]: "accepted"}
    req2_now = (await client.get(f"/v1/workload-requests/{req2['id']}", headers=keys.cms)).json()
    assert req2_now["status"] == "open"
    assert (await _triggers(session_factory))[-1] == f"capacity_offer.withdrawn {off['id']}"
