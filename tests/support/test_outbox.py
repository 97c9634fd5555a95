"""The matching outbox: a write commits its trigger even while Redis is down, and the
worker handles it once Redis is back."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.api.main import create_app
from shared.config import Settings
from shared.embedded import EmbeddedRedis
from shared.models import MatchingRun, MatchingTrigger
from tests.factories import Keys
from tests.servers import start_private_redis, start_process, stop_process
from tests.support.factories import offer_body, post, request_body

pytestmark = pytest.mark.slow


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[EmbeddedRedis]:
    server = start_private_redis(tmp_path)
    yield server
    server.stop()


@pytest.fixture
async def private_client(
    settings: Settings, private_redis: EmbeddedRedis
) -> AsyncIterator[httpx.AsyncClient]:
    """The API in-process, its queue on the private Redis."""
    app = create_app(settings.model_copy(update={"redis_url": _url(private_redis)}))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://tandem.test") as c:
            yield c


def _url(server: EmbeddedRedis) -> str:
    return f"redis://127.0.0.1:{server.port}/0"


async def _trigger(
    factory: async_sessionmaker[AsyncSession], reason: str
) -> MatchingTrigger | None:
    async with factory() as session:
        found: MatchingTrigger | None = await session.scalar(
            select(MatchingTrigger).where(MatchingTrigger.reason == reason)
        )
        return found


class Supervised:
    """The worker process, restarted when it exits, as `tandem run`'s launcher does."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env, self.log = env, log
        self.restarts = 0
        self.proc: subprocess.Popen[bytes] = start_process("services.worker", env, log)

    def supervise(self) -> None:
        if self.proc.poll() is not None:
            self.restarts += 1
            self.proc = start_process("services.worker", self.env, self.log)

    def stop(self) -> None:
        stop_process(self.proc)


async def _handled(
    factory: async_sessionmaker[AsyncSession], reason: str, worker: Supervised, within: float
) -> MatchingTrigger | None:
    deadline = asyncio.get_running_loop().time() + within
    while asyncio.get_running_loop().time() < deadline:
        found = await _trigger(factory, reason)
        if found is not None and found.run_id is not None:
            return found
        worker.supervise()
        await asyncio.sleep(0.2)
    return None


async def _quiet(session_factory: async_sessionmaker[AsyncSession], within: float) -> None:
    """Until no matching run has been queued or running for a second: a kick already under
    way when Redis went away may still claim a trigger committed before it takes the lock."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    calm_since = None
    while loop.time() < deadline:
        async with session_factory() as session:
            busy = await session.scalar(
                select(MatchingRun.id).where(MatchingRun.status.in_(("queued", "running"))).limit(1)
            )
        if busy is not None:
            calm_since = None
        elif calm_since is None:
            calm_since = loop.time()
        elif loop.time() - calm_since >= 1.0:
            return
        await asyncio.sleep(0.2)
    raise AssertionError("matching runs were still under way")


async def test_trigger_written_while_redis_is_down_is_handled_once_it_is_back(
    private_client: httpx.AsyncClient,
    private_redis: EmbeddedRedis,
    keys: Keys,
    session_factory: async_sessionmaker[AsyncSession],
    process_env: dict[str, str],
    tmp_path: Path,
) -> None:
    log = tmp_path / "worker.log"
    worker = Supervised({**process_env, "REDIS_URL": _url(private_redis)}, log)
    try:
        # With Redis up, the API's nudge after commit gets the trigger handled at once.
        first = await post(private_client, "/v1/capacity-offers", offer_body(), keys.cms)
        reason = f"capacity_offer.created {first['id']}"
        assert await _handled(session_factory, reason, worker, 30), log.read_text()

        private_redis.stop()
        await _quiet(session_factory, 30)
        made = await private_client.post(
            "/v1/workload-requests", json=request_body(), headers=keys.cites
        )
        assert made.status_code == 201, made.text
        reason = f"workload_request.created {made.json()['id']}"
        waiting = await _trigger(session_factory, reason)
        assert waiting is not None and waiting.run_id is None
        await asyncio.sleep(1)
        still = await _trigger(session_factory, reason)
        assert still is not None and still.run_id is None

        private_redis.start()
        handled = await _handled(session_factory, reason, worker, 90)
        assert handled is not None, log.read_text()
        async with session_factory() as session:
            run = await session.get(MatchingRun, handled.run_id)
        assert run is not None and run.status == "succeeded"
        assert reason in run.trigger
    finally:
        worker.stop()
