"""Matching runs carried out by the real worker process against PostgreSQL and Redis:
proposals within seconds, no partial write when a worker is killed, never two runs at once,
no over-allocation when data changes mid-run, no trigger lost while Redis is down."""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import subprocess
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.api.main import create_app
from shared.config import Settings
from shared.embedded import EmbeddedRedis
from shared.matching import engine, service
from shared.models import Allocation, AllocationDay, CapacityOffer, MatchingRun, MatchingTrigger
from shared.support.allocations.proposals import ProposalsRejected
from tests.factories import Keys, units
from tests.servers import start_private_redis, start_process, stop_process
from tests.support.factories import figures_agree, offer_body, post, request_body

pytestmark = pytest.mark.slow

REQUESTS, OFFERS = "/v1/workload-requests", "/v1/capacity-offers"


async def _wait(predicate: Any, within: float, every: float = 0.1) -> bool:
    deadline = asyncio.get_running_loop().time() + within
    while asyncio.get_running_loop().time() < deadline:
        if await predicate():
            return True
        await asyncio.sleep(every)
    return False


async def _proposed(client: httpx.AsyncClient, keys: Keys, request_id: str) -> list[dict[str, Any]]:
    page = await client.get(
        "/v1/allocations",
        params={"request_id": request_id, "status": "proposed"},
        headers=keys.admin,
    )
    assert page.status_code == 200, page.text
    items: list[dict[str, Any]] = page.json()["items"]
    return items


async def _pending(factory: async_sessionmaker[AsyncSession]) -> int:
    async with factory() as session:
        return len(
            list(
                await session.scalars(
                    select(MatchingTrigger.id).where(MatchingTrigger.run_id.is_(None))
                )
            )
        )


async def _run_lock_held(factory: async_sessionmaker[AsyncSession]) -> bool:
    async with factory() as session:
        held = await session.scalar(
            text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
                " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            )
        )
        return bool(held)


async def _no_over_allocation(factory: async_sessionmaker[AsyncSession]) -> None:
    """Proposed plus accepted hours fit every offer's per-day and total limits."""
    async with factory() as session:
        offers = {o.id: o for o in await session.scalars(select(CapacityOffer))}
        per_day: dict[tuple[uuid.UUID, Any], int] = {}
        total: dict[uuid.UUID, int] = {}
        rows = await session.execute(
            select(Allocation.offer_id, AllocationDay.day, AllocationDay.hours)
            .join(AllocationDay, AllocationDay.allocation_id == Allocation.id)
            .where(Allocation.status.in_(("proposed", "accepted")))
        )
        for offer_id, day, hours in rows:
            per_day[(offer_id, day)] = per_day.get((offer_id, day), 0) + hours
            total[offer_id] = total.get(offer_id, 0) + hours
        for (offer_id, day), hours in per_day.items():
            assert hours <= offers[offer_id].hours_per_day, (offer_id, day, hours)
        for offer_id, hours in total.items():
            assert hours <= offers[offer_id].total_hours, (offer_id, hours)
    await figures_agree(factory)


async def test_request_and_offer_get_proposals_from_the_worker_within_seconds(
    client: httpx.AsyncClient, keys: Keys, worker: subprocess.Popen[bytes]
) -> None:
    await post(client, OFFERS, offer_body(), keys.cms)
    req = await post(client, REQUESTS, request_body(), keys.cites)

    async def served() -> bool:
        return sum(a["hours"] for a in await _proposed(client, keys, req["id"])) == 16

    assert await _wait(served, 10)
    runs = (await client.get("/v1/matching/runs", headers=keys.cites)).json()["items"]
    latest = runs[0]
    assert latest["status"] == "succeeded"
    assert latest["figures"]["hours_proposed"] == 16
    assert latest["figures"]["weight_served"] == 16 * 4
    assert latest["figures"]["eligible_pairs"] == 1
    assert worker.poll() is None


async def test_worker_killed_mid_run_leaves_previous_proposals_and_next_run_completes(
    client: httpx.AsyncClient,
    keys: Keys,
    session_factory: async_sessionmaker[AsyncSession],
    process_env: dict[str, str],
    tmp_path: Path,
) -> None:
    await post(client, OFFERS, offer_body(total_hours=40), keys.cms)
    first = await post(client, REQUESTS, request_body(hours=8), keys.cites)
    await service.kick(units(session_factory))
    before = await _proposed(client, keys, first["id"])
    assert sum(a["hours"] for a in before) == 8

    second = await post(client, REQUESTS, request_body(title="Second desk", hours=8), keys.cites)
    slow = start_process(
        "services.worker",
        {**process_env, "MATCHING_TEST_DELAY_SECONDS": "60"},
        tmp_path / "slow.log",
    )
    try:
        assert await _wait(lambda: _run_lock_held(session_factory), 60), (
            tmp_path / "slow.log"
        ).read_text()
        os.killpg(slow.pid, signal.SIGKILL)
        slow.wait()
    finally:
        stop_process(slow)
    # Nothing of the killed run was written; its triggers wait for the next run.
    assert await _proposed(client, keys, first["id"]) == before
    assert await _proposed(client, keys, second["id"]) == []
    assert await _pending(session_factory) >= 1

    fresh = start_process("services.worker", process_env, tmp_path / "fresh.log")
    try:

        async def served() -> bool:
            return sum(a["hours"] for a in await _proposed(client, keys, second["id"])) == 8

        assert await _wait(served, 30), (tmp_path / "fresh.log").read_text()
    finally:
        stop_process(fresh)
    assert await _proposed(client, keys, first["id"]) == before
    assert await _pending(session_factory) == 0
    await figures_agree(session_factory)


async def test_two_workers_never_run_two_matchings_at_once(
    client: httpx.AsyncClient,
    keys: Keys,
    session_factory: async_sessionmaker[AsyncSession],
    process_env: dict[str, str],
    tmp_path: Path,
) -> None:
    env = {**process_env, "MATCHING_TEST_DELAY_SECONDS": "0.4"}
    workers = [start_process("services.worker", env, tmp_path / f"w{i}.log") for i in range(2)]
    try:
        await post(client, OFFERS, offer_body(total_hours=200), keys.cms)
        for i in range(6):
            await post(client, REQUESTS, request_body(title=f"Desk {i}", hours=4), keys.cites)
            assert (await client.post("/v1/matching/runs", headers=keys.admin)).status_code == 202
            await asyncio.sleep(0.15)

        async def settled() -> bool:
            async with session_factory() as session:
                open_runs = await session.scalar(
                    select(MatchingRun.id).where(MatchingRun.status.in_(("queued", "running")))
                )
            return open_runs is None and await _pending(session_factory) == 0

        assert await _wait(settled, 60), (tmp_path / "w0.log").read_text()
    finally:
        for w in workers:
            stop_process(w)
    async with session_factory() as session:
        runs = list(
            await session.scalars(
                select(MatchingRun)
                .where(MatchingRun.status == "succeeded")
                .order_by(MatchingRun.started_at)
            )
        )
    assert len(runs) >= 2
    for earlier, later in itertools.pairwise(runs):
        assert earlier.finished_at is not None and later.started_at is not None
        assert earlier.finished_at <= later.started_at, (earlier.id, later.id)
    await _no_over_allocation(session_factory)


_solve = engine.solve


class _PausedSolve:
    """engine.solve that waits, on its first call, until the test has changed the data."""

    def __init__(self) -> None:
        self.computing = threading.Event()
        self.go_on = threading.Event()
        self.calls = 0

    def __call__(self, problem: engine.Problem) -> engine.Result:
        self.calls += 1
        if self.calls == 1:
            self.computing.set()
            assert self.go_on.wait(30)
        return _solve(problem)


@pytest.mark.parametrize("change", ["accept", "withdraw"])
async def test_data_changed_mid_run_never_yields_a_committed_over_allocation(
    client: httpx.AsyncClient,
    keys: Keys,
    session_factory: async_sessionmaker[AsyncSession],
    monkeypatch: pytest.MonkeyPatch,
    change: str,
) -> None:
    off = await post(client, OFFERS, offer_body(hours_per_day=4, total_hours=20), keys.cms)
    first = await post(client, REQUESTS, request_body(hours=20), keys.cites)
    await service.kick(units(session_factory))
    proposed = await _proposed(client, keys, first["id"])
    assert sum(a["hours"] for a in proposed) == 20

    # A more urgent request would take those hours; while the run computes, the offering
    # secretariat accepts the proposal in force (or withdraws the offer).
    urgent = await post(
        client, REQUESTS, request_body(title="Urgent", hours=20, priority="critical"), keys.cites
    )
    paused = _PausedSolve()
    monkeypatch.setattr(service.engine, "solve", paused)
    running = asyncio.create_task(service.kick(units(session_factory)))
    assert await asyncio.to_thread(paused.computing.wait, 30)
    if change == "accept":
        done = await client.post(f"/v1/allocations/{proposed[0]['id']}/accept", headers=keys.cms)
    else:
        done = await client.post(f"{OFFERS}/{off['id']}/withdraw", headers=keys.cms)
    assert done.is_success, done.text
    paused.go_on.set()
    run = await running
    monkeypatch.undo()

    assert run is not None and run.status == "succeeded"
    assert run.figures["attempts"] == 2
    assert paused.calls == 2
    # The fresh attempt saw the change: no hours left for the urgent request.
    assert await _proposed(client, keys, urgent["id"]) == []
    await _no_over_allocation(session_factory)


async def test_rejected_proposals_every_attempt_fail_the_run_and_keep_its_triggers(
    client: httpx.AsyncClient,
    keys: Keys,
    session_factory: async_sessionmaker[AsyncSession],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await post(client, OFFERS, offer_body(), keys.cms)
    await post(client, REQUESTS, request_body(), keys.cites)

    async def rejected(*_args: Any, **_kwargs: Any) -> Any:
        raise ProposalsRejected("the data changed")

    monkeypatch.setattr(service, "apply_proposals", rejected)
    run = await service.kick(units(session_factory))
    assert run is not None and run.status == "failed"
    assert "5 attempts" in (run.error or "")
    assert await _pending(session_factory) == 2
    monkeypatch.undo()
    again = await service.kick(units(session_factory))
    assert again is not None and again.status == "succeeded"
    assert await _pending(session_factory) == 0


# --------------------------------------------------------------------------- Redis down


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[EmbeddedRedis]:
    server = start_private_redis(tmp_path)
    yield server
    server.stop()


async def test_triggers_written_while_redis_is_down_are_all_handled_within_30s_of_its_return(
    settings: Settings,
    private_redis: EmbeddedRedis,
    keys: Keys,
    session_factory: async_sessionmaker[AsyncSession],
    process_env: dict[str, str],
    tmp_path: Path,
) -> None:
    url = f"redis://127.0.0.1:{private_redis.port}/0"
    app = create_app(settings.model_copy(update={"redis_url": url}))
    log = tmp_path / "worker.log"
    env = {**process_env, "REDIS_URL": url}
    proc = start_process("services.worker", env, log)
    try:
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://tandem.test"
            ) as client,
        ):
            await post(client, OFFERS, offer_body(total_hours=200), keys.cms)
            private_redis.stop()
            made = [
                await post(client, REQUESTS, request_body(title=f"Desk {i}", hours=4), keys.cites)
                for i in range(5)
            ]
            assert await _pending(session_factory) >= 5
            private_redis.start()
            back = asyncio.get_running_loop().time()

            async def all_handled() -> bool:
                nonlocal proc
                if proc.poll() is not None:  # what `tandem run`'s launcher does
                    proc = start_process("services.worker", env, log)
                return await _pending(session_factory) == 0

            assert await _wait(all_handled, 30, every=0.2), log.read_text()
            assert asyncio.get_running_loop().time() - back < 30
            for req in made:
                assert sum(a["hours"] for a in await _proposed(client, keys, req["id"])) == 4
    finally:
        stop_process(proc)


async def test_a_pair_with_accepted_hours_gets_more_proposed_and_both_can_be_accepted(
    client: httpx.AsyncClient, keys: Keys, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await post(client, OFFERS, offer_body(hours_per_day=4, total_hours=40), keys.cms)
    req = await post(client, REQUESTS, request_body(hours=8), keys.cites)
    await service.kick(units(session_factory))
    [first] = await _proposed(client, keys, req["id"])
    assert (await client.post(f"/v1/allocations/{first['id']}/accept", headers=keys.cms)).is_success

    grown = await client.patch(f"{REQUESTS}/{req['id']}", json={"hours": 16}, headers=keys.cites)
    assert grown.is_success, grown.text
    run = await service.kick(units(session_factory))
    assert run is not None and run.status == "succeeded"
    [second] = await _proposed(client, keys, req["id"])
    assert second["offer_id"] == first["offer_id"] and second["hours"] == 8
    assert not {d["date"] for d in second["days"]} & {d["date"] for d in first["days"]}
    taken = await client.post(f"/v1/allocations/{second['id']}/accept", headers=keys.cms)
    assert taken.is_success, taken.text
    page = await client.get(
        "/v1/allocations", params={"request_id": req["id"], "status": "accepted"}, headers=keys.cms
    )
    assert sorted(a["hours"] for a in page.json()["items"]) == [8, 8]
    shown = (await client.get(f"{REQUESTS}/{req['id']}", headers=keys.cites)).json()
    assert shown["hours_accepted"] == 16
    await _no_over_allocation(session_factory)


async def _written(factory: async_sessionmaker[AsyncSession]) -> dict[str, Any]:
    """What runs write: allocations and their days, the change feed, history, events, and
    the versions of requests and offers (whose figures follow the proposals)."""
    async with factory() as session:
        return {
            table: (await session.execute(text(query))).all()
            for table, query in {
                "allocation": "SELECT id, version, hours, updated_at FROM allocation ORDER BY id",
                "allocation_day": "SELECT * FROM allocation_day ORDER BY allocation_id, day",
                "change": "SELECT count(*) FROM change",
                "history_entry": "SELECT count(*) FROM history_entry",
                "event": "SELECT count(*) FROM event",
                "workload_request": "SELECT id, version FROM workload_request ORDER BY id",
                "capacity_offer": "SELECT id, version FROM capacity_offer ORDER BY id",
            }.items()
        }


async def test_a_run_with_nothing_changed_keeps_every_proposal_and_writes_nothing(
    client: httpx.AsyncClient, keys: Keys, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    for i in range(3):
        await post(client, OFFERS, offer_body(title=f"Assistant {i}", total_hours=16), keys.cms)
    for i in range(4):
        await post(client, REQUESTS, request_body(title=f"Desk {i}", hours=8), keys.cites)
    await service.kick(units(session_factory))
    proposed = (await client.get("/v1/allocations", headers=keys.admin)).json()["items"]
    assert len(proposed) >= 3
    before = await _written(session_factory)

    queued = await client.post("/v1/matching/runs", headers=keys.admin)
    assert queued.status_code == 202, queued.text
    run = await service.execute_run(units(session_factory), uuid.UUID(queued.json()["id"]))
    assert run is not None and run.status == "succeeded", run and run.error
    assert run.figures is not None
    assert (run.figures["proposals_kept"], run.figures["proposals_added"]) == (len(proposed), 0)
    assert (run.figures["proposals_changed"], run.figures["proposals_dropped"]) == (0, 0)
    assert (await client.get("/v1/allocations", headers=keys.admin)).json()["items"] == proposed
    assert await _written(session_factory) == before


async def test_sweep_carries_out_a_queued_run_whose_job_was_lost(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with session_factory() as session, session.begin():
        lost = MatchingRun(trigger="api", status="queued")
        session.add(lost)
        await session.flush()
        await session.execute(
            update(MatchingRun)
            .where(MatchingRun.id == lost.id)
            .values(created_at=text("now() - interval '5 minutes'"))
        )
        fresh = MatchingRun(trigger="api", status="queued")
        session.add(fresh)
    await service.kick(units(session_factory))
    async with session_factory() as session:
        assert (await session.get(MatchingRun, lost.id)).status == "succeeded"  # type: ignore[union-attr]
        assert (await session.get(MatchingRun, fresh.id)).status == "queued"  # type: ignore[union-attr]


async def test_sweep_records_a_run_whose_worker_died_as_failed(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with session_factory() as session, session.begin():
        dead = MatchingRun(trigger="api", status="running")
        alive = MatchingRun(trigger="api", status="running")
        session.add_all([dead, alive])
        await session.flush()
        await session.execute(
            update(MatchingRun)
            .where(MatchingRun.id == dead.id)
            .values(started_at=text("now() - interval '1 hour'"))
        )
        await session.execute(
            update(MatchingRun).where(MatchingRun.id == alive.id).values(started_at=text("now()"))
        )
    await service.kick(units(session_factory))
    async with session_factory() as session:
        found = await session.get(MatchingRun, dead.id)
        assert found is not None and found.status == "failed" and found.error
        assert (await session.get(MatchingRun, alive.id)).status == "running"  # type: ignore[union-attr]


async def test_kicks_during_a_run_coalesce_into_one_waiting_run(
    client: httpx.AsyncClient,
    keys: Keys,
    session_factory: async_sessionmaker[AsyncSession],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await post(client, OFFERS, offer_body(total_hours=40), keys.cms)
    await post(client, REQUESTS, request_body(hours=8), keys.cites)
    paused = _PausedSolve()
    monkeypatch.setattr(service.engine, "solve", paused)
    running = asyncio.create_task(service.kick(units(session_factory)))
    assert await asyncio.to_thread(paused.computing.wait, 30)

    late = await post(client, REQUESTS, request_body(title="Late", hours=8), keys.cites)
    waiting = asyncio.create_task(service.kick(units(session_factory)))
    await asyncio.sleep(0.5)
    assert not waiting.done()
    # A further kick leaves at once: the waiting run will take its trigger.
    assert await asyncio.wait_for(service.kick(units(session_factory)), 5) is None

    paused.go_on.set()
    first, second = await running, await waiting
    assert first is not None and first.status == "succeeded"
    assert second is not None and second.status == "succeeded"
    assert second.figures["triggers"] >= 1
    assert await _pending(session_factory) == 0
    assert sum(a["hours"] for a in await _proposed(client, keys, late["id"])) == 8
