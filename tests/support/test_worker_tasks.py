"""The worker's tasks for the support workflow, called as arq calls them."""

from __future__ import annotations

import uuid

import httpx
from arq.constants import job_key_prefix
from arq.jobs import JobDef
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.worker.main import WorkerSettings, cron_jobs
from services.worker.tasks import matching
from shared import queue
from shared.config import Settings
from shared.matching.kick import summary
from shared.models import MatchingRun, MatchingTrigger
from tests.factories import Keys
from tests.support.factories import offer_body, post, request_body


async def test_kick_handles_every_pending_trigger_in_one_run(
    client: httpx.AsyncClient, keys: Keys, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    req = await post(client, "/v1/workload-requests", request_body(), keys.cites)
    off = await post(client, "/v1/capacity-offers", offer_body(), keys.cms)
    await client.patch(
        f"/v1/capacity-offers/{off['id']}", json={"total_hours": 30}, headers=keys.cms
    )
    ctx = {"session_factory": session_factory}

    run_id = await matching.kick(ctx)

    assert run_id is not None
    async with session_factory() as session:
        triggers = list(await session.scalars(select(MatchingTrigger).order_by(MatchingTrigger.id)))
        run = await session.get(MatchingRun, triggers[0].run_id)
    assert [t.reason for t in triggers] == [
        f"workload_request.created {req['id']}",
        f"capacity_offer.created {off['id']}",
        f"capacity_offer.changed {off['id']}",
    ]
    assert {str(t.run_id) for t in triggers} == {run_id}
    assert all(t.handled_at is not None for t in triggers)
    assert run is not None and run.status == "succeeded"
    assert run.trigger.startswith(f"workload_request.created {req['id']}; ")
    # Nothing left: the next kick (or the minute's sweep) records no run.
    assert await matching.kick(ctx) is None


async def test_a_long_list_of_reasons_fits_the_run(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with session_factory() as session, session.begin():
        await session.execute(
            insert(MatchingTrigger),
            [{"reason": f"capacity_offer.changed {i:040d}"} for i in range(50)],
        )
    run_id = await matching.kick({"session_factory": session_factory})
    async with session_factory() as session:
        run = await session.scalar(select(MatchingRun).where(MatchingRun.id == run_id))
    assert run is not None and len(run.trigger) <= 200 and "(+50 triggers)" in run.trigger
    assert summary(["a", "a", "b"]) == "a; b"


def test_the_worker_knows_the_tasks_and_schedules() -> None:
    names = {f.name for f in WorkerSettings.functions}
    assert {"matching.run", "matching.kick"} <= names
    crons = {c.name for c in cron_jobs("tandem:queue")}
    assert {"tandem:queue:matching.sweep", "tandem:queue:workload_requests.expire"} <= crons


async def test_a_matching_run_wakes_webhook_delivery_once_it_has_committed(
    client: httpx.AsyncClient,
    keys: Keys,
    session_factory: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    await post(client, "/v1/workload-requests", request_body(), keys.cites)
    await post(client, "/v1/capacity-offers", offer_body(), keys.cms)
    jobs = queue.lazy_queue(settings.require_redis_url(), f"tandem:test:{uuid.uuid4().hex}")
    queued: list[JobDef] = []
    try:
        run_id = await matching.kick({"session_factory": session_factory, "redis": jobs})
        queued = await jobs.queued_jobs()
    finally:
        await jobs.delete(jobs.default_queue_name, *(f"{job_key_prefix}{j.job_id}" for j in queued))
        await jobs.aclose()
    assert run_id is not None
    # The run proposed an allocation: its allocation.proposed event is delivered without
    # waiting for the sweep.
    assert "webhooks.deliver" in [j.function for j in queued]
