"""Redis stopped or hung costs writers nothing: writes answer at once, the worker rides the
outage out, and every trigger written meanwhile is matched soon after Redis returns."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.api.main import create_app
from shared.config import Settings
from shared.embedded import EmbeddedRedis
from tests.factories import Keys
from tests.servers import start_private_redis, start_process, stop_process, wait_for
from tests.support.factories import request_body
from tests.support.test_outbox import _trigger

pytestmark = pytest.mark.slow

WRITES_DURING_OUTAGE = 3
# Before the circuit breaker, a write answered after the 5 s socket timeout with Redis hung.
SLOW = 1.0


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[EmbeddedRedis]:
    server = start_private_redis(tmp_path)
    yield server
    if server.process is not None and server.process.poll() is None:
        server.process.send_signal(signal.SIGCONT)
    server.stop()


@pytest.fixture
async def private_client(
    settings: Settings, private_redis: EmbeddedRedis
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings.model_copy(update={"redis_url": _url(private_redis)}))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://tandem.test") as c:
            yield c


def _url(server: EmbeddedRedis) -> str:
    return f"redis://127.0.0.1:{server.port}/0"


async def _timed_request(client: httpx.AsyncClient, keys: Keys) -> tuple[float, str]:
    """Create a workload request; how long it took and the reason of its matching trigger."""
    started = time.perf_counter()
    made = await client.post("/v1/workload-requests", json=request_body(), headers=keys.cites)
    elapsed = time.perf_counter() - started
    assert made.status_code == 201, made.text
    return elapsed, f"workload_request.created {made.json()['id']}"


async def _baseline(client: httpx.AsyncClient, keys: Keys) -> float:
    """How long a write takes with Redis up (the best of three: the first one warms up)."""
    return min([(await _timed_request(client, keys))[0] for _ in range(3)])


async def _all_matched(
    factory: async_sessionmaker[AsyncSession], reasons: list[str], within: float
) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        triggers = [await _trigger(factory, reason) for reason in reasons]
        if all(t is not None and t.run_id is not None for t in triggers):
            return True
        await asyncio.sleep(0.5)
    return False


async def test_writes_answer_at_once_while_redis_is_hung_and_are_matched_when_it_resumes(
    private_client: httpx.AsyncClient,
    private_redis: EmbeddedRedis,
    keys: Keys,
    session_factory: async_sessionmaker[AsyncSession],
    process_env: dict[str, str],
    tmp_path: Path,
) -> None:
    log = tmp_path / "worker.log"
    worker = start_process(
        "services.worker", {**process_env, "REDIS_URL": _url(private_redis)}, log
    )
    try:
        baseline = await _baseline(private_client, keys)
        _, first = await _timed_request(private_client, keys)
        assert await _all_matched(session_factory, [first], 60), log.read_text()[-3000:]

        assert private_redis.process is not None
        private_redis.process.send_signal(signal.SIGSTOP)
        reasons = []
        for _ in range(WRITES_DURING_OUTAGE):
            elapsed, reason = await _timed_request(private_client, keys)
            assert elapsed < baseline + SLOW, (elapsed, baseline)
            reasons.append(reason)
        ready = await private_client.get("/readyz")
        assert ready.status_code == 200
        assert ready.json()["checks"]["redis"] == "degraded"

        await asyncio.sleep(2)
        private_redis.process.send_signal(signal.SIGCONT)
        assert await _all_matched(session_factory, reasons, 60), log.read_text()[-3000:]
        assert worker.poll() is None, "the worker exited instead of waiting for Redis"
    finally:
        stop_process(worker)


async def test_worker_starts_while_redis_is_stopped_and_every_trigger_is_matched_after(
    private_client: httpx.AsyncClient,
    private_redis: EmbeddedRedis,
    keys: Keys,
    session_factory: async_sessionmaker[AsyncSession],
    process_env: dict[str, str],
    tmp_path: Path,
) -> None:
    baseline = await _baseline(private_client, keys)
    private_redis.stop()
    log = tmp_path / "worker.log"
    worker = start_process(
        "services.worker", {**process_env, "REDIS_URL": _url(private_redis)}, log
    )
    try:
        reasons = []
        for _ in range(WRITES_DURING_OUTAGE):
            elapsed, reason = await _timed_request(private_client, keys)
            assert elapsed < baseline + SLOW, (elapsed, baseline)
            reasons.append(reason)
        assert wait_for(lambda: "waiting for Redis" in log.read_text(), timeout=60)
        await asyncio.sleep(2)
        assert worker.poll() is None, log.read_text()[-3000:]

        private_redis.start()
        assert await _all_matched(session_factory, reasons, 60), log.read_text()[-3000:]
        assert worker.poll() is None
    finally:
        stop_process(worker)
