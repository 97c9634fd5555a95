"""The matching hook: a run's proposals replace the previous run's, checked against now."""

from __future__ import annotations

import uuid
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.models import Change, Event
from shared.support.allocations import repository
from shared.support.allocations.proposals import ProposalIn, ProposalsRejected
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


async def _pair(client: httpx.AsyncClient, keys: Keys) -> tuple[dict[str, Any], dict[str, Any]]:
    req = await post(client, REQUESTS, request_body(hours=20), keys.cites)
    off = await post(client, OFFERS, offer_body(), keys.cms)
    return req, off


async def _by_pair(client: httpx.AsyncClient, keys: Keys) -> dict[tuple[str, str], Any]:
    items = (await client.get("/v1/allocations", headers=keys.cms)).json()["items"]
    return {(a["request_id"], a["offer_id"]): a for a in items}


async def test_a_run_keeps_changes_drops_and_adds_proposals(
    client: httpx.AsyncClient, keys: Keys, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    days = week()
    req, off = await _pair(client, keys)
    req2 = await post(client, REQUESTS, request_body(title="Documents"), keys.cites)
    off2 = await post(client, OFFERS, offer_body(title="Second"), keys.cms)
    first = await propose(
        session_factory,
        [
            proposal(req, off, [(days[0], 4)]),
            proposal(req, off2, [(days[1], 4)]),
            proposal(req2, off, [(days[2], 4)]),
        ],
    )
    assert len(first.added) == 3
    before = await _by_pair(client, keys)

    second = await propose(
        session_factory,
        [
            proposal(req, off, [(days[0], 4)]),  # the same: kept
            proposal(req, off2, [(days[1], 2), (days[3], 6)]),  # other days: changed
            proposal(req2, off2, [(days[4], 3)]),  # new
        ],  # (req2, off) is no longer proposed: dropped
    )
    kept = before[(req["id"], off["id"])]
    changed = before[(req["id"], off2["id"])]
    dropped = before[(req2["id"], off["id"])]
    assert second.kept == [uuid.UUID(kept["id"])]
    assert [(c.allocation_id, c.hours, c.previous_hours) for c in second.changed] == [
        (uuid.UUID(changed["id"]), 8, 4)
    ]
    assert [(c.allocation_id, c.hours, c.previous_hours) for c in second.dropped] == [
        (uuid.UUID(dropped["id"]), 0, 4)
    ]
    assert [(c.request_id, c.offer_id, c.hours) for c in second.added] == [
        (uuid.UUID(req2["id"]), uuid.UUID(off2["id"]), 3)
    ]
    after = await _by_pair(client, keys)
    assert after[(req["id"], off["id"])] == kept  # same id, same version, untouched
    now = after[(req["id"], off2["id"])]
    assert (now["id"], now["version"], now["hours"]) == (changed["id"], 2, 8)
    assert now["days"] == [
        {"date": days[1].isoformat(), "hours": 2},
        {"date": days[3].isoformat(), "hours": 6},
    ]
    assert (req2["id"], off["id"]) not in after
    await figures_agree(session_factory)

    history = (
        await client.get(f"/v1/allocations/{changed['id']}/history", headers=keys.cms)
    ).json()["items"]
    assert [e["action"] for e in history] == ["proposed", "reproposed"]
    assert history[1]["changes"]["hours"] == {"from": 4, "to": 8}
    dropped_history = (
        await client.get(f"/v1/allocations/{dropped['id']}/history", headers=keys.cms)
    ).json()["items"]
    assert [(e["action"], e["actor"]) for e in dropped_history] == [
        ("proposed", "matching"),
        ("dropped", "matching"),
    ]
    kept_history = (
        await client.get(f"/v1/allocations/{kept['id']}/history", headers=keys.cms)
    ).json()["items"]
    assert len(kept_history) == 1
    async with session_factory() as session:
        feed = (await session.execute(select(Change.resource_id, Change.op, Change.version))).all()
        proposed_events = list(
            await session.scalars(select(Event.type).where(Event.type == "allocation.proposed"))
        )
    assert (uuid.UUID(dropped["id"]), "delete", 2) in feed
    assert (uuid.UUID(changed["id"]), "update", 2) in feed
    assert not [f for f in feed if f[0] == uuid.UUID(kept["id"]) and f[1] != "create"]
    assert len(proposed_events) == 4

    # An empty run drops every proposal.
    empty = await propose(session_factory, [])
    assert len(empty.dropped) == 3
    assert await _by_pair(client, keys) == {}
    await figures_agree(session_factory)


async def _rejected(
    factory: async_sessionmaker[AsyncSession], proposals: list[ProposalIn], words: str
) -> None:
    with pytest.raises(ProposalsRejected) as caught:
        await propose(factory, proposals)
    assert words in caught.value.detail, caught.value.detail


async def test_proposals_that_no_longer_fit_are_rejected_whole(
    client: httpx.AsyncClient, keys: Keys, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    days = week()
    req, off = await _pair(client, keys)
    own = await post(client, OFFERS, offer_body(secretariat="CITES"), keys.cites)
    small = await post(client, REQUESTS, request_body(hours=2, title="Small"), keys.cites)
    await propose(session_factory, [proposal(req, off, [(days[0], 4)])])
    in_force = await _by_pair(client, keys)

    good = proposal(req, off, [(days[0], 4)])
    await _rejected(session_factory, [proposal(req, own, [(days[1], 2)])], "same secretariat")
    await _rejected(session_factory, [good, proposal(small, off, [(days[0], 3)])], "over the 2")
    await _rejected(
        session_factory,
        [proposal(req, off, [(days[0], 8), (days[1], 8), (days[2], 8)])],
        "over the 20",
    )
    big = await post(client, REQUESTS, request_body(hours=100, title="Big"), keys.cites)
    await _rejected(
        session_factory, [good, proposal(big, off, [(days[0], 5)])], "over its 8 hours per day"
    )
    await _rejected(
        session_factory,
        [proposal(big, off, [(d, 8) for d in days]), proposal(small, off, [(days[0], 1)])],
        "hours per day",
    )
    short = await post(client, OFFERS, offer_body(total_hours=10, title="Short"), keys.cms)
    await _rejected(
        session_factory,
        [proposal(big, short, [(days[1], 6)]), proposal(req, short, [(days[2], 6)])],
        "over its 10 hours in total",
    )
    last_week = days[0] - timedelta(days=7)
    await _rejected(session_factory, [proposal(req, off, [(last_week, 2)])], "outside")
    await _rejected(session_factory, [proposal(req, off, [(days[0], 4)], travel=False)], "travel")
    stranger = ProposalIn(uuid.uuid4(), uuid.UUID(off["id"]), 1, ((days[0], 1),), False)
    await _rejected(session_factory, [stranger], "no such request")
    with pytest.raises(ValueError, match="two proposals"):
        await propose(session_factory, [good, proposal(req, off, [(days[1], 2)])])
    with pytest.raises(ValueError, match="other days"):
        await propose(
            session_factory,
            [ProposalIn(uuid.UUID(req["id"]), uuid.UUID(off["id"]), 5, ((days[0], 4),), True)],
        )
    # Nothing was written by any of these runs.
    assert await _by_pair(client, keys) == in_force
    await figures_agree(session_factory)


async def test_withdrawn_offers_accepted_pairs_and_declined_pairs_take_no_proposal(
    client: httpx.AsyncClient, keys: Keys, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    days = week()
    req, off = await _pair(client, keys)
    req2 = await post(client, REQUESTS, request_body(title="Second"), keys.cites)
    gone = await post(client, OFFERS, offer_body(title="Gone"), keys.cms)
    await propose(
        session_factory,
        [proposal(req, off, [(days[0], 4)]), proposal(req2, off, [(days[1], 4)])],
    )
    pairs = await _by_pair(client, keys)
    accepted = pairs[(req["id"], off["id"])]
    declined = pairs[(req2["id"], off["id"])]
    assert (
        await client.post(f"/v1/allocations/{accepted['id']}/accept", headers=keys.cms)
    ).is_success
    assert (
        await client.post(
            f"/v1/allocations/{declined['id']}/decline", json={"reason": "busy"}, headers=keys.cms
        )
    ).is_success
    assert (await client.post(f"{OFFERS}/{gone['id']}/withdraw", headers=keys.cms)).is_success

    await _rejected(session_factory, [proposal(req2, off, [(days[1], 4)])], "declined")
    await _rejected(session_factory, [proposal(req, gone, [(days[1], 4)])], "withdrawn")
    async with session_factory() as session:
        assert await repository.banned_pairs(session) == {
            (uuid.UUID(req2["id"]), uuid.UUID(off["id"]))
        }
        assert await repository.accepted_pairs(session) == {
            (uuid.UUID(req["id"]), uuid.UUID(off["id"]))
        }
        assert await repository.accepted_by_offer_day(session) == {
            (uuid.UUID(off["id"]), days[0]): 4
        }
        assert await repository.accepted_by_request(session) == {uuid.UUID(req["id"]): 4}

    # Editing the title leaves the ban; editing what matters to eligibility lifts it.
    assert (
        await client.patch(f"{REQUESTS}/{req2['id']}", json={"title": "Docs"}, headers=keys.cites)
    ).is_success
    await _rejected(session_factory, [proposal(req2, off, [(days[1], 4)])], "declined")
    assert (
        await client.patch(
            f"{REQUESTS}/{req2['id']}", json={"skills": ["documents"]}, headers=keys.cites
        )
    ).is_success
    diff = await propose(session_factory, [proposal(req2, off, [(days[1], 4)])])
    assert len(diff.added) == 1
    await figures_agree(session_factory)


async def test_the_history_cannot_be_rewritten(
    client: httpx.AsyncClient, keys: Keys, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await post(client, REQUESTS, request_body(), keys.cites)
    for statement in (
        "UPDATE history_entry SET actor = 'someone else'",
        "DELETE FROM history_entry",
    ):
        async with session_factory() as session:
            with pytest.raises(DBAPIError, match="cannot be changed or removed"):
                await session.execute(text(statement))


async def test_the_engine_may_hand_over_its_own_allocation_objects(
    client: httpx.AsyncClient, keys: Keys, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    days = week()
    req, off = await _pair(client, keys)
    # The engine's allocations carry the same fields; ids may be strings, days in any order.
    engine_output = SimpleNamespace(
        request_id=req["id"],
        offer_id=off["id"],
        hours=6,
        days=[(days[2], 2), (days[1], 4)],
        travel=True,
    )
    diff = await propose(session_factory, [engine_output])
    assert [(str(c.request_id), c.hours) for c in diff.added] == [(req["id"], 6)]
    again = await propose(session_factory, [proposal(req, off, [(days[1], 4), (days[2], 2)])])
    assert again.kept == [diff.added[0].allocation_id]
