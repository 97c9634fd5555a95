"""Scaled out: three API processes and two workers on one PostgreSQL and one Redis."""

from __future__ import annotations

import asyncio
import subprocess
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.db import session_scope
from shared.embedded import free_port
from shared.feed import changefeed
from shared.matching import service as matching
from tests.factories import Keys, activity_body
from tests.integration.conftest import LOOPBACK, Receiver
from tests.servers import start_process, stop_process, wait_for
from tests.support.factories import offer_body, request_body

pytestmark = pytest.mark.slow

APIS, WORKERS, ROUNDS = 3, 2, 6
EVENTS = ["activity.changed", "allocation.proposed", "workload_request.matched"]


def _ready(base: str) -> bool:
    try:
        return httpx.get(f"{base}/readyz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


async def _created(client: httpx.AsyncClient, path: str, body: Any, headers: Any) -> Any:
    response = await client.post(path, json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


async def _workload(client: httpx.AsyncClient, keys: Keys, n: int) -> None:
    """One API's share: offers, requests and activities, an activity edited twice."""
    for i in range(ROUNDS):
        await _created(client, "/v1/capacity-offers", offer_body(total_hours=40), keys.cms)
        await _created(
            client,
            "/v1/workload-requests",
            request_body(title=f"Desk {n}-{i}", hours=4),
            keys.cites,
        )
        activity = await _created(
            client, "/v1/activities", activity_body(title=f"Joint work {n}-{i}"), keys.cms
        )
        for title in ("renamed", "renamed again"):
            edited = await client.patch(
                f"/v1/activities/{activity['id']}",
                json={"title": f"{title} {n}-{i}"},
                headers=keys.cms,
            )
            assert edited.status_code == 200, edited.text


def _tails(directory: Path) -> list[str]:
    return [log.read_text()[-1500:] for log in sorted(directory.glob("*.log"))]


async def _scalar(factory: async_sessionmaker[AsyncSession], sql: str) -> Any:
    async with factory() as session:
        return await session.scalar(text(sql))


async def test_three_apis_and_two_workers_match_everything_and_keep_the_feed_whole(
    keys: Keys,
    receiver: Receiver,
    session_factory: async_sessionmaker[AsyncSession],
    process_env: dict[str, str],
    tmp_path: Path,
) -> None:
    env = {
        **process_env,
        "QUEUE_NAME": f"tandem-scaled-{uuid.uuid4().hex[:8]}",
        "WEBHOOK_ALLOWED_HOSTS": LOOPBACK,
        "API_KEY_CACHE_SECONDS": "0",
    }
    ports = [free_port() for _ in range(APIS)]
    procs: list[subprocess.Popen[bytes]] = [
        start_process("services.api", {**env, "API_PORT": str(port)}, tmp_path / f"api{n}.log")
        for n, port in enumerate(ports)
    ]
    procs += [
        start_process("services.worker", env, tmp_path / f"worker{n}.log") for n in range(WORKERS)
    ]
    bases = [f"http://127.0.0.1:{port}" for port in ports]
    try:
        assert wait_for(lambda: all(_ready(b) for b in bases), timeout=120)
        clients = [httpx.AsyncClient(base_url=b, timeout=60) for b in bases]
        try:
            await _created(
                clients[0],
                "/v1/webhooks",
                {"url": receiver.url, "events": EVENTS, "description": "scaled"},
                keys.admin,
            )
            await asyncio.gather(*(_workload(c, keys, n) for n, c in enumerate(clients)))

            async def settled() -> bool:
                pending = await _scalar(
                    session_factory, "SELECT count(*) FROM matching_trigger WHERE run_id IS NULL"
                )
                busy = await _scalar(
                    session_factory,
                    "SELECT count(*) FROM matching_run WHERE status IN ('queued', 'running')",
                )
                undelivered = await _scalar(
                    session_factory,
                    "SELECT (SELECT count(*) FROM event WHERE dispatched_at IS NULL)"
                    " + (SELECT count(*) FROM webhook_delivery WHERE status = 'pending')",
                )
                return pending == busy == undelivered == 0

            for _ in range(240):
                if await settled():
                    break
                await asyncio.sleep(0.5)
            assert await settled(), _tails(tmp_path)

            # Every trigger matched, and the proposals in force are what a fresh solve gives.
            async with session_factory() as session:
                preview = await matching.preview(session)
            assert (preview.added, preview.changed, preview.dropped) == ([], [], [])
            assert await _scalar(session_factory, "SELECT count(*) FROM matching_run") >= 1
            failed = "SELECT count(*) FROM matching_run WHERE status = 'failed'"
            assert await _scalar(session_factory, failed) == 0

            # The change feed, read through another API process: every change once, in order.
            async with session_scope(session_factory) as session:
                await changefeed.sequence_pending(session)
            feed: list[dict[str, Any]] = []
            after = None
            while True:
                page = (
                    await clients[1].get(
                        "/v1/changes",
                        params={"limit": 50, **({"after": after} if after else {})},
                        headers=keys.cites_read,
                    )
                ).json()
                feed += page["items"]
                if not page["items"]:
                    break
                after = page["next_cursor"]
            async with session_factory() as session:
                in_db = (
                    await session.execute(
                        text("SELECT seq, resource_id, version FROM change ORDER BY seq")
                    )
                ).all()
            assert [(i["seq"], i["id"], i["version"]) for i in feed] == [
                (r.seq, str(r.resource_id), r.version) for r in in_db
            ]
            assert len(feed) >= APIS * ROUNDS * 5
        finally:
            for client in clients:
                await client.aclose()
    finally:
        for proc in procs:
            stop_process(proc)

    # The receiver always answered 200: each message arrived exactly once.
    received = Counter(r.headers["webhook-id"] for r in receiver.snapshot())
    delivered = await _scalar(
        session_factory, "SELECT count(*) FROM webhook_delivery WHERE status = 'delivered'"
    )
    assert delivered >= APIS * ROUNDS * 3
    assert len(received) == delivered
    assert max(received.values()) == 1, received.most_common(3)
