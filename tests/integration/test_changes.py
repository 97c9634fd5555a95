"""The change feed: every committed change exactly once, in order, with a cursor a sync job
can store; tombstones, type filters, bad cursors and expired history."""

from __future__ import annotations

import asyncio
import base64
import random
import subprocess
import uuid
from datetime import datetime
from typing import Any

import httpx
import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.activities import service as activities
from shared.activities.schemas import ActivityWrite
from shared.db import create_engine, create_session_factory, session_scope
from shared.feed import changefeed
from shared.policy import Principal
from tests.factories import Keys, activity_body, create, meeting_body

ADMIN = Principal(uuid.uuid4(), "test-admin", None, frozenset({"admin"}))


def _cursor(*parts: Any) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(list(parts))).decode().rstrip("=")


async def _read_all(
    client: httpx.AsyncClient, headers: dict[str, str], after: str | None = None, **params: Any
) -> tuple[list[dict[str, Any]], str]:
    items: list[dict[str, Any]] = []
    while True:
        query = {**params, **({"after": after} if after else {})}
        response = await client.get("/v1/changes", params=query, headers=headers)
        assert response.status_code == 200, response.text
        page = response.json()
        items += page["items"]
        if not page["items"]:
            return items, page["next_cursor"]
        after = page["next_cursor"]


async def test_feed_shows_creates_updates_and_tombstones_in_order(
    client: httpx.AsyncClient, keys: Keys
) -> None:
    made = await create(client, "/v1/activities", activity_body(), keys.cms)
    patched = await client.patch(
        f"/v1/activities/{made['id']}", json={"status": "completed"}, headers=keys.cms
    )
    assert patched.status_code == 200
    assert (
        await client.delete(f"/v1/activities/{made['id']}", headers=keys.cms)
    ).status_code == 204

    items, cursor = await _read_all(client, keys.cites_read)
    assert [(i["type"], i["id"], i["op"], i["version"]) for i in items] == [
        ("activity", made["id"], "create", 1),
        ("activity", made["id"], "update", 2),
        ("activity", made["id"], "delete", 3),
    ]
    assert [i["seq"] for i in items] == sorted(i["seq"] for i in items)
    assert items[0]["data"]["title"] == made["title"]
    assert items[1]["data"]["status"] == "completed"
    assert items[1]["data"] == patched.json()
    assert items[2]["data"] == {"id": made["id"]}
    assert datetime.fromisoformat(items[0]["at"]).tzinfo is not None

    # Nothing new: the same position again, so a sync job can always store it.
    again = await client.get("/v1/changes", params={"after": cursor}, headers=keys.cites_read)
    assert again.json() == {"items": [], "next_cursor": cursor}


async def test_one_transactions_changes_keep_their_order(
    client: httpx.AsyncClient, keys: Keys, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    async with session_scope(session_factory) as session:
        for n in range(5):
            await activities.create(session, ADMIN, ActivityWrite(**activity_body(title=f"A{n}")))
    items, _ = await _read_all(client, keys.cites_read)
    assert [i["data"]["title"] for i in items] == [f"A{n}" for n in range(5)]


async def test_unchanged_write_records_nothing(client: httpx.AsyncClient, keys: Keys) -> None:
    made = await create(client, "/v1/activities", activity_body(), keys.cms)
    same = await client.patch(
        f"/v1/activities/{made['id']}", json={"status": made["status"]}, headers=keys.cms
    )
    assert same.json()["version"] == 1
    items, _ = await _read_all(client, keys.cites_read)
    assert [i["op"] for i in items] == ["create"]


async def test_type_filter_and_its_cursor(client: httpx.AsyncClient, keys: Keys) -> None:
    await create(client, "/v1/meetings", meeting_body(), keys.cites)
    await create(client, "/v1/activities", activity_body(), keys.cms)
    await create(client, "/v1/activities", activity_body(title="Sharks"), keys.cms)
    meetings_only, cursor = await _read_all(client, keys.cites_read, types="meeting")
    assert [i["type"] for i in meetings_only] == ["meeting"]
    # The cursor moved past the activities it did not want, so the next read starts there.
    assert cursor == _cursor(3)
    both, _ = await _read_all(client, keys.cites_read, types="activity,meeting", limit=1)
    assert [i["type"] for i in both] == ["meeting", "activity", "activity"]
    bad = await client.get("/v1/changes", params={"types": "activity,whale"}, headers=keys.cms)
    assert bad.status_code == 422
    assert "whale" in bad.json()["detail"]


async def test_malformed_or_forged_cursor_is_400(client: httpx.AsyncClient, keys: Keys) -> None:
    await create(client, "/v1/activities", activity_body(), keys.cms)
    listed = await client.get("/v1/activities", params={"limit": 1}, headers=keys.cms)
    await create(client, "/v1/activities", activity_body(title="Second"), keys.cms)
    list_cursor = (await client.get("/v1/activities", params={"limit": 1}, headers=keys.cms)).json()
    assert listed.status_code == 200
    for bad in [
        "not a cursor!",
        "%%%",
        _cursor("x"),
        _cursor(1, 2),
        _cursor(-1),
        _cursor(True),
        _cursor(10**9),  # a position this feed never gave out
        list_cursor["next_cursor"],  # a cursor of another list
    ]:
        response = await client.get("/v1/changes", params={"after": bad}, headers=keys.cms)
        assert response.status_code == 400, (bad, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["type"].endswith("/invalid-cursor")


async def test_cursor_older_than_retention_is_410_with_a_way_to_resync(
    client: httpx.AsyncClient, keys: Keys, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    old = [
        await create(client, "/v1/activities", activity_body(title=f"Old {n}"), keys.cms)
        for n in range(3)
    ]
    first_page = await client.get("/v1/changes", params={"limit": 1}, headers=keys.cms)
    stale_cursor = first_page.json()["next_cursor"]
    async with session_scope(session_factory) as session:
        await session.execute(
            text("UPDATE change SET at = now() - interval '40 days' WHERE resource_id = ANY(:ids)"),
            {"ids": [uuid.UUID(a["id"]) for a in old]},
        )
    recent = await create(client, "/v1/activities", activity_body(title="Recent"), keys.cms)
    async with session_scope(session_factory) as session:
        assert await changefeed.prune(session, retention_days=30) == 3

    for params in ({"after": stale_cursor}, {}):
        gone = await client.get("/v1/changes", params=params, headers=keys.cms)
        assert gone.status_code == 410, gone.text
        problem = gone.json()
        assert problem["type"].endswith("/cursor-expired")
        assert "resync" in problem["detail"].lower()
    resumed = await client.get(
        "/v1/changes", params={"after": problem["resync_cursor"]}, headers=keys.cms
    )
    assert resumed.status_code == 200
    assert resumed.json()["items"] == []  # the resync cursor is the head: nothing is missed
    # A client that had read everything before pruning carries on.
    head = _cursor(4)
    assert (await client.get("/v1/changes", params={"after": head}, headers=keys.cms)).json()[
        "items"
    ] == []
    before_recent = _cursor(3)
    items = (
        await client.get("/v1/changes", params={"after": before_recent}, headers=keys.cms)
    ).json()["items"]
    assert [i["id"] for i in items] == [recent["id"]]


async def test_a_transaction_that_started_first_and_commits_last_is_not_skipped(
    client: httpx.AsyncClient, keys: Keys, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    first, second = session_factory(), session_factory()
    try:
        slow = await activities.create(first, ADMIN, ActivityWrite(**activity_body(title="Slow")))
        await first.flush()
        fast = await activities.create(second, ADMIN, ActivityWrite(**activity_body(title="Fast")))
        await second.commit()

        seen, cursor = await _read_all(client, keys.cites_read)
        assert [i["id"] for i in seen] == [str(fast["id"])]

        # The slow transaction's change was written first: a feed ordered by insertion
        # would now be past it and never show it.
        change_id = text("SELECT id FROM change WHERE resource_id = :r")
        slow_change = await first.scalar(change_id, {"r": slow["id"]})
        fast_change = await second.scalar(change_id, {"r": fast["id"]})
        assert slow_change < fast_change

        await first.commit()
    finally:
        await first.close()
        await second.close()
    later, _ = await _read_all(client, keys.cites_read, after=cursor)
    assert [i["id"] for i in later] == [str(slow["id"])]
    assert later[0]["seq"] > seen[-1]["seq"]


async def _writer(
    factory: async_sessionmaker[AsyncSession],
    client: httpx.AsyncClient,
    headers: dict[str, str],
    n: int,
    rounds: int,
) -> None:
    rng = random.Random(n)
    mine: list[uuid.UUID] = []
    for r in range(rounds):
        if n % 4 == 0:  # through the API, like any client
            body = activity_body(title=f"W{n} R{r}")
            response = await client.post("/v1/activities", json=body, headers=headers)
            assert response.status_code == 201, response.text
            continue
        async with session_scope(factory) as session:
            made = await activities.create(
                session, ADMIN, ActivityWrite(**activity_body(title=f"W{n} R{r}"))
            )
            mine.append(made["id"])
            if len(mine) > 1 and rng.random() < 0.5:
                await activities.patch(
                    session, ADMIN, rng.choice(mine[:-1]), {"tags": [f"r{r}"]}, None
                )
            if len(mine) > 2 and rng.random() < 0.1:
                victim = mine.pop(0)
                await activities.delete_activity(session, ADMIN, victim, None)
            # Hold the transaction open for a while, so that commits overtake one another.
            await asyncio.sleep(rng.random() * 0.03)


async def test_concurrent_writers_and_a_polling_reader_see_every_change_once_in_order(
    client: httpx.AsyncClient,
    keys: Keys,
    settings: Any,
    worker: subprocess.Popen[bytes],
) -> None:
    writers_engine = create_engine(settings.require_database_url(), pool_size=10)
    factory = create_session_factory(writers_engine)
    readers: list[list[dict[str, Any]]] = [[], []]
    done = asyncio.Event()

    async def reader(seen: list[dict[str, Any]], seed: int) -> None:
        rng = random.Random(seed)
        cursor = None
        quiet = 0
        while quiet < 2:  # after the writers finish, read until two empty pages in a row
            params: dict[str, Any] = {"limit": rng.randint(1, 40)}
            if cursor:
                params["after"] = cursor
            response = await client.get("/v1/changes", params=params, headers=keys.cites_read)
            assert response.status_code == 200, response.text
            page = response.json()
            seen.extend(page["items"])
            cursor = page["next_cursor"]
            if done.is_set() and not page["items"]:
                quiet += 1
            await asyncio.sleep(rng.random() * 0.01)

    try:
        reading = [asyncio.create_task(reader(seen, n)) for n, seen in enumerate(readers)]
        await asyncio.gather(*(_writer(factory, client, keys.cms, n, rounds=25) for n in range(8)))
        done.set()
        await asyncio.wait_for(asyncio.gather(*reading), timeout=60)
    finally:
        await writers_engine.dispose()

    async with session_scope(create_session_factory(writers_engine)) as session:
        await changefeed.sequence_pending(session)
        rows = (
            await session.execute(
                text("SELECT seq, resource_id, op, version FROM change ORDER BY seq")
            )
        ).all()
        unsequenced = await session.scalar(text("SELECT count(*) FROM change WHERE seq IS NULL"))
    await writers_engine.dispose()
    assert unsequenced == 0
    in_db = [(r.seq, str(r.resource_id), r.op, r.version) for r in rows]
    assert len(in_db) >= 8 * 25
    for seen in readers:
        read = [(i["seq"], i["id"], i["op"], i["version"]) for i in seen]
        assert read == in_db  # every committed change, once, in feed order
        # Each object's versions appear in the order they were made.
        last_version: dict[str, int] = {}
        for _, ident, _, version in read:
            assert version > last_version.get(ident, 0)
            last_version[ident] = version


async def test_a_burst_of_feed_reads_does_not_exhaust_the_connection_pool(
    client: httpx.AsyncClient, keys: Keys, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    """Sync jobs started by cron poll at the same moment: each read numbers pending changes
    in a transaction of its own, and must not hold two connections while doing so."""
    async with session_scope(session_factory) as session:
        await activities.create(session, ADMIN, ActivityWrite(**activity_body()))
    responses = await asyncio.wait_for(
        asyncio.gather(*(client.get("/v1/changes", headers=keys.cites_read) for _ in range(60))),
        timeout=30,
    )
    assert [r.status_code for r in responses] == [200] * 60
    assert all(len(r.json()["items"]) == 1 for r in responses)
