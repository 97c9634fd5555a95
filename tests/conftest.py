"""Fixtures: a fresh database per run on real PostgreSQL, real Redis, the app in-process, and
the real worker process on demand."""

from __future__ import annotations

import asyncio
import os
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from services.api.main import create_app
from shared.config import Settings
from shared.db import create_engine, create_session_factory
from shared.embedded import free_port
from shared.migrate import upgrade_head
from tests.factories import Keys, make_keys
from tests.servers import (
    TestServers,
    database_url_for,
    start_process,
    stop_process,
    wait_for,
)

# Tables whose rows a test may create; emptied after each test. Secretariats are reset.
KEEP_TABLES = {"alembic_version", "secretariat", "duty_station"}


def _asyncpg_dsn(sqlalchemy_url: str) -> str:
    return sqlalchemy_url.replace("postgresql+asyncpg://", "postgresql://", 1)


@pytest.fixture(scope="session")
def servers() -> Iterator[TestServers]:
    srv = TestServers()
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def run_id() -> str:
    return uuid.uuid4().hex[:10]


@pytest.fixture(scope="session")
def database_url(servers: TestServers, run_id: str) -> Iterator[str]:
    """A database made for this run and migrated to head; dropped at the end."""
    name = f"tandem_test_{run_id}"
    admin = _asyncpg_dsn(servers.admin_database_url)

    async def admin_exec(sql: str) -> None:
        conn = await asyncpg.connect(admin)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin_exec(f'CREATE DATABASE "{name}"'))
    url = database_url_for(servers.admin_database_url, name)
    upgrade_head(url)
    yield url
    asyncio.run(admin_exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def settings(database_url: str, servers: TestServers, run_id: str) -> Settings:
    return Settings(
        database_url=database_url,
        redis_url=servers.redis_url,
        queue_name=f"tandem-test-{run_id}",
        log_level="WARNING",
        api_key_cache_seconds=0,
        # Every test's requests come from one address and reuse few keys: budgets are tested
        # on apps of their own (tests/api/test_edge.py).
        rate_limit_per_key=0,
        rate_limit_per_address=0,
    )


@pytest.fixture(scope="session")
def process_env(settings: Settings) -> dict[str, str]:
    """Environment for a real API or worker process of this run."""
    env = dict(os.environ)
    env.update(
        DATABASE_URL=settings.database_url or "",
        REDIS_URL=settings.redis_url or "",
        QUEUE_NAME=settings.queue_name,
        LOG_LEVEL="INFO",
        RATE_LIMIT_PER_KEY="0",
        RATE_LIMIT_PER_ADDRESS="0",
    )
    return env


@pytest.fixture(scope="session")
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    eng = create_engine(settings.require_database_url(), pool_size=5)
    yield eng
    await eng.dispose()


@pytest.fixture(scope="session")
def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_session_factory(engine)


@pytest.fixture(autouse=True)
async def _clean_database(request: pytest.FixtureRequest) -> AsyncIterator[None]:
    """Each test starts from the migrated state: rows made by the previous test are removed."""
    yield
    if "engine" not in request.fixturenames:
        return
    engine: AsyncEngine = request.getfixturevalue("engine")
    async with engine.begin() as conn:
        tables = (
            await conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'"))
        ).scalars()
        to_empty = [t for t in tables if t not in KEEP_TABLES]
        # DELETE on small tables is far cheaper than TRUNCATE (no lock upgrade, no new files);
        # replica mode skips foreign-key and audit triggers so the order does not matter.
        statements = ["SET LOCAL session_replication_role = replica"]
        statements += [f'DELETE FROM "{t}"' for t in to_empty]
        statements.append("DELETE FROM secretariat WHERE code NOT IN ('CITES', 'CMS')")
        statements.append("DELETE FROM duty_station WHERE locode NOT IN ('CH GVA', 'DE BON')")
        statements.append(
            "UPDATE duty_station SET country = left(locode, 2), "
            "subdivision = CASE locode WHEN 'CH GVA' THEN 'GE' ELSE 'NW' END"
        )
        # Sequences start again too (feed positions, identities), as after a fresh migration.
        statements.append(
            "SELECT setval(c.oid, 1, false) FROM pg_class c JOIN pg_namespace n"
            " ON n.oid = c.relnamespace WHERE c.relkind = 'S' AND n.nspname = 'public'"
        )
        raw = await conn.get_raw_connection()
        await raw.driver_connection.execute(";\n".join(statements))  # type: ignore[union-attr]


@pytest.fixture
async def redis(settings: Settings) -> AsyncIterator[Redis]:
    client = Redis.from_url(settings.require_redis_url())
    yield client
    await client.aclose()


@pytest.fixture
async def app(settings: Settings, engine: AsyncEngine):  # type: ignore[no-untyped-def]
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://tandem.test") as c:
        yield c


@pytest.fixture
async def keys(session_factory: async_sessionmaker[AsyncSession]) -> Keys:
    """API keys of the usual callers (made afresh for each test)."""
    return await make_keys(session_factory)


@pytest.fixture(scope="session")
def live_api(
    process_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A real API process (uvicorn over a socket) for this run; yields its base URL."""
    port = free_port()
    log = tmp_path_factory.mktemp("live-api") / "api.log"
    env = {**process_env, "API_PORT": str(port), "LOG_LEVEL": "WARNING"}
    proc = start_process("services.api", env, log)
    base = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        try:
            return httpx.get(f"{base}/readyz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    # Importing the app takes 5 s of CPU; on a loaded machine that is 30 s or more of wall time.
    if not wait_for(ready, timeout=120):
        stop_process(proc)
        raise RuntimeError(f"API process did not start: {log.read_text()}")
    yield base
    stop_process(proc)


@pytest.fixture
def worker(process_env: dict[str, str], tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """The real worker process (`python -m services.worker`) for this run's queue, once it has
    started (on a loaded machine its imports alone took over 10 s)."""
    log = tmp_path / "worker.log"
    proc = start_process("services.worker", process_env, log)
    started = wait_for(lambda: proc.poll() is not None or "worker started" in log.read_text(), 120)
    assert started and proc.poll() is None, log.read_text()[-3000:]
    yield proc
    stop_process(proc)
