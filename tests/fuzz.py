"""`make fuzz`: schemathesis with every check, positive and negative data, against a live API.

Makes a fresh database (on TEST_DATABASE_URL's server, else an embedded PostgreSQL), migrates
it, makes a key with every scope, starts the API with uvicorn on a free port and runs
`schemathesis run --checks all --mode all` against its /openapi.json. FUZZ_EXAMPLES (default
100) is the number of examples per operation; FUZZ_SEED replays a run (a random seed is drawn
and printed otherwise). Extra arguments are passed to schemathesis. Exit status: schemathesis'.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import asyncpg
import httpx

from shared.db import create_engine, create_session_factory
from shared.embedded import free_port
from shared.migrate import upgrade_head
from tests.factories import make_key
from tests.servers import TestServers, database_url_for, start_process, stop_process, wait_for

ROOT = Path(__file__).resolve().parent.parent


async def _admin_exec(admin_url: str, sql: str) -> None:
    conn = await asyncpg.connect(admin_url.replace("postgresql+asyncpg://", "postgresql://", 1))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _key_with_every_scope(database_url: str) -> str:
    engine = create_engine(database_url, pool_size=1)
    try:
        header = await make_key(
            create_session_factory(engine), "fuzz", None, ["read", "write", "approve", "admin"]
        )
    finally:
        await engine.dispose()
    return header["Authorization"]


def main(argv: list[str]) -> int:
    examples = int(os.environ.get("FUZZ_EXAMPLES", "100"))
    seed = int(os.environ.get("FUZZ_SEED") or secrets.randbelow(2**31))
    print(f"make fuzz: {examples} examples per operation, FUZZ_SEED={seed}", flush=True)
    servers = TestServers()
    name = f"tandem_fuzz_{uuid.uuid4().hex[:10]}"
    asyncio.run(_admin_exec(servers.admin_database_url, f'CREATE DATABASE "{name}"'))
    url = database_url_for(servers.admin_database_url, name)
    proc = None
    try:
        upgrade_head(url)
        authorization = asyncio.run(_key_with_every_scope(url))
        port = free_port()
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "REDIS_URL": servers.redis_url,
            "QUEUE_NAME": f"tandem-fuzz-{name}",
            "API_PORT": str(port),
            "LOG_LEVEL": "WARNING",
            # One client sends thousands of requests: the budgets would answer most with 429.
            "RATE_LIMIT_PER_KEY": "0",
            "RATE_LIMIT_PER_ADDRESS": "0",
        }
        log = servers.tmp / "api.log"
        proc = start_process("services.api", env, log)
        base = f"http://127.0.0.1:{port}"

        def ready() -> bool:
            try:
                return httpx.get(f"{base}/readyz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        if not wait_for(ready, timeout=60):
            print(log.read_text(), file=sys.stderr)
            return 2
        command = [
            str(Path(sys.executable).parent / "schemathesis"),
            "run",
            f"{base}/openapi.json",
            "--checks",
            "all",
            "--mode",
            "all",
            "--max-examples",
            str(examples),
            "--seed",
            str(seed),
            "--header",
            f"Authorization: {authorization}",
            "--suppress-health-check",
            "all",
            *argv,
        ]
        status = subprocess.call(command, cwd=ROOT)
        print(f"make fuzz: FUZZ_SEED={seed} replays this run; API log: {log}", flush=True)
        return status
    finally:
        if proc is not None:
            stop_process(proc)
        asyncio.run(_admin_exec(servers.admin_database_url, f'DROP DATABASE "{name}" WITH (FORCE)'))
        servers.stop()
        if proc is None:
            shutil.rmtree(servers.tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
