"""`make bench-stats`: how fast each /v1/stats endpoint answers on the `realistic` data set.

Loads a year of support (500 workload requests, 150 capacity offers, their allocations day
by day, 10 meetings, 60 activities; see bench/stats_dataset.py) into a fresh database,
builds the API in this process and asks each endpoint, over ASGI, with the filters a
dashboard uses: none (the whole year), the dashboard's default weeks, one secretariat, one
kind. Prints p50 / p95 / max per case and whether each p95 is under the 200 ms target;
exits 1 when one is not. The database is dropped at the end (`--keep` keeps it).

PostgreSQL: BENCH_DATABASE_URL, else TEST_DATABASE_URL's server, else 127.0.0.1:5432, else
an embedded one.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from urllib.parse import quote

import asyncpg
import httpx

from bench import stats_dataset
from services.api.routers.dashboard import default_range
from shared.embedded import EmbeddedPostgres

DEFAULT_DATABASE_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
TARGET_MS = 200.0


def _dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


def _with_database(url: str, name: str) -> str:
    head, sep, query = url.partition("?")
    return f"{head.rsplit('/', 1)[0]}/{name}{sep}{query}"


async def _answers(url: str) -> bool:
    try:
        conn = await asyncpg.connect(_dsn(url), timeout=3)
    except (TimeoutError, OSError, asyncpg.PostgresError):
        return False
    await conn.close()
    return True


async def _admin(url: str, sql: str) -> None:
    conn = await asyncpg.connect(_dsn(url))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def _cases(data: stats_dataset.Dataset, today: date) -> list[tuple[str, str, dict[str, str]]]:
    """(endpoint, label, query) for every case timed."""
    start, end = default_range(today)
    board = {"from": start.isoformat(), "to": end.isoformat()}
    busiest = max(data.meetings, key=lambda m: sum(r.meeting == m.code for r in data.requests)).code
    cases = []
    for endpoint in ("workload", "capacity", "unmet-skills", "exchange", "activities"):
        path = f"/v1/stats/{endpoint}"
        cases += [
            (path, "whole year", {}),
            (path, "dashboard weeks", board),
            (path, "CITES", {"secretariat": "CITES"}),
        ]
        if endpoint != "activities":
            cases.append((path, "staff, weeks", {**board, "kind": "staff"}))
    meeting = f"/v1/stats/meetings/{quote(busiest)}"
    cases += [(meeting, f"{busiest}", {}), (meeting, f"{busiest}, CMS", {"secretariat": "CMS"})]
    return cases


async def _time(
    client: httpx.AsyncClient, headers: dict[str, str], path: str, query: dict[str, str], n: int
) -> list[float]:
    for _ in range(3):  # warm the pool and PostgreSQL's plan cache
        response = await client.get(path, params=query, headers=headers)
        response.raise_for_status()
    times = []
    for _ in range(n):
        started = time.perf_counter()
        response = await client.get(path, params=query, headers=headers)
        times.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
    return times


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def run(database_url: str, n: int, keep: bool, scale: int) -> int:
    from services.api.main import create_app
    from shared.config import Settings
    from shared.db import create_engine, create_session_factory, session_scope
    from shared.keys import service as keys
    from shared.migrate import upgrade_head

    name = f"tandem_bench_stats_{os.getpid()}"
    await _admin(database_url, f'CREATE DATABASE "{name}"')
    url = _with_database(database_url, name)
    try:
        await asyncio.to_thread(upgrade_head, url)
        today = date.today()
        started = time.perf_counter()
        data = stats_dataset.generate(today, requests=500 * scale, offers=150 * scale)
        await stats_dataset.load(_dsn(url), data, today)
        print(
            f"realistic data set: {len(data.requests)} requests, {len(data.offers)} offers, "
            f"{len(data.allocations)} allocations, {data.allocation_days} allocation days, "
            f"{len(data.meetings)} meetings, {len(data.activities)} activities, "
            f"{data.first_day} to {data.last_day} (loaded in {time.perf_counter() - started:.1f} s)"
        )
        engine = create_engine(url, pool_size=1)
        async with session_scope(create_session_factory(engine)) as session:
            _, raw = await keys.create_key(session, "bench", "CITES", ["read"])
        await engine.dispose()
        headers = {"Authorization": f"Bearer {raw}"}
        # Redis is never reached: reads enqueue nothing and the queue connects lazily.
        settings = Settings(
            database_url=url, redis_url="redis://127.0.0.1:1/0", log_level="WARNING"
        )
        app = create_app(settings)
        failed = 0
        rows = []
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
                for path, label, query in _cases(data, today):
                    times = await _time(client, headers, path, query, n)
                    p50, p95 = statistics.median(times), _p(times, 0.95)
                    ok = p95 < TARGET_MS
                    failed += not ok
                    rows.append((path.replace("%20", " "), label, p50, p95, max(times), ok))
        print(f"\n{n} sequential requests per case, in-process over ASGI;", end=" ")
        print(f"target p95 < {TARGET_MS:.0f} ms\n")
        print("| endpoint | filters | p50 ms | p95 ms | max ms | |")
        print("|---|---|---:|---:|---:|---|")
        for path, label, p50, p95, top, ok in rows:
            verdict = "ok" if ok else "SLOW"
            print(f"| `{path}` | {label} | {p50:.1f} | {p95:.1f} | {top:.1f} | {verdict} |")
        return 1 if failed else 0
    finally:
        if keep:
            print(f"\nkept the database {name}")
        else:
            await _admin(database_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=50, help="requests per case (default 50)")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument(
        "--scale",
        type=int,
        default=1,
        help="multiply the requests and offers (1: the realistic set; 4 shows the headroom)",
    )
    args = parser.parse_args()
    candidates = [os.environ.get("BENCH_DATABASE_URL")]
    if os.environ.get("TEST_DATABASE_URL"):
        candidates.append(_with_database(os.environ["TEST_DATABASE_URL"], "postgres"))
    candidates.append(DEFAULT_DATABASE_URL)
    embedded = None
    url = next((u for u in filter(None, candidates) if asyncio.run(_answers(u))), None)
    if url is None:
        print("no PostgreSQL answers; starting an embedded one", flush=True)
        embedded = EmbeddedPostgres(Path(tempfile.mkdtemp(prefix="tandem-bench-")))
        url = embedded.start("postgres")
    try:
        code = asyncio.run(run(url, args.n, args.keep, args.scale))
    finally:
        if embedded is not None:
            embedded.stop()
    sys.exit(code)


if __name__ == "__main__":
    main()
