"""`uv run python -m bench.matching_runs`: matching runs end to end on real PostgreSQL.

For the `small` and `realistic` instances of bench/matching_instances.py (dates moved so
the horizon starts next Monday; accepted hours and declined pairs left out) loaded into a
fresh database: the time of a run through `shared.matching.service` from the snapshot read
to the proposals committed, first from no proposals (every proposal inserted) and then
again (every proposal kept). Then, with the realistic set loaded and matched, a real
worker process and the API in this process (over ASGI): a new workload request is posted
and the time until its proposals are visible through the API is measured, over `--n`
requests (p50 / p95; target p95 < 2 s). The database is dropped at the end.

PostgreSQL: BENCH_DATABASE_URL, else TEST_DATABASE_URL, else 127.0.0.1:5432.
Redis: BENCH_REDIS_URL, else TEST_REDIS_URL, else 127.0.0.1:6379 (a queue of its own).
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import gc
import os
import statistics
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from bench import matching_instances

DEFAULT_DATABASE_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
ROOT = Path(__file__).resolve().parent.parent


def _dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


def _with_database(url: str, name: str) -> str:
    head, sep, query = url.partition("?")
    return f"{head.rsplit('/', 1)[0]}/{name}{sep}{query}"


async def _admin(url: str, sql: str) -> None:
    conn = await asyncpg.connect(_dsn(url))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


PRIORITY = {1: "low", 2: "normal", 4: "high", 8: "critical"}


async def _load(url: str, scale: str) -> tuple[int, int]:
    """Load the instance; returns (requests, offers)."""
    problem = matching_instances.generate(scale)
    today = date.today()
    shift = (today + timedelta(days=7 - today.weekday())) - matching_instances.START
    codes = {r.secretariat for r in problem.requests} | {o.secretariat for o in problem.offers}
    stations = dict(matching_instances.SECRETARIATS)
    conn = await asyncpg.connect(_dsn(url))
    try:
        for code in sorted(codes):
            await conn.execute(
                "INSERT INTO secretariat (code, name, duty_station) VALUES ($1, $2, $3)"
                " ON CONFLICT DO NOTHING",
                code,
                code,
                stations[code],
            )
        await conn.executemany(
            "INSERT INTO workload_request (secretariat_code, kind, title, skills, start_date,"
            " end_date, hours, priority, on_site, location)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            [
                (
                    r.secretariat,
                    r.kind,
                    f"Request {r.id}",
                    sorted(r.skills),
                    r.start + shift,
                    r.end + shift,
                    r.remaining,
                    PRIORITY[r.weight],
                    r.on_site,
                    r.location,
                )
                for r in problem.requests
                if r.remaining > 0
            ],
        )
        await conn.executemany(
            "INSERT INTO capacity_offer (secretariat_code, kind, title, skills, start_date,"
            " end_date, hours_per_day, total_hours, location, travel_ok)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            [
                (
                    o.secretariat,
                    o.kind,
                    f"Offer {o.id}",
                    sorted(o.skills),
                    o.start + shift,
                    min(o.end, o.start + timedelta(days=365)) + shift,
                    o.hours_per_day,
                    o.total_left + sum(o.used_by_day.values()),
                    o.location,
                    o.travel_ok,
                )
                for o in problem.offers
            ],
        )
    finally:
        await conn.close()
    return sum(r.remaining > 0 for r in problem.requests), len(problem.offers)


async def _timed_run(factory: Any) -> tuple[float, dict[str, Any]]:
    from shared.db import session_scope
    from shared.matching import service
    from shared.matching.triggers import trigger

    async with session_scope(factory) as session:
        await trigger(session, "bench")
    started = time.perf_counter()
    run = await service.kick(functools.partial(session_scope, factory))
    elapsed = time.perf_counter() - started
    assert run is not None and run.status == "succeeded", run and run.error
    return elapsed, dict(run.figures)


def _start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with open(log, "ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "services.worker"],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _q(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def _time_to_proposal(url: str, redis_url: str, n: int, log: Path) -> list[float]:
    from services.api.main import create_app
    from shared.config import Settings
    from shared.db import create_engine, create_session_factory, session_scope
    from shared.keys import service as keys

    queue = f"tandem-bench-{os.getpid()}"
    engine = create_engine(url, pool_size=1)
    async with session_scope(create_session_factory(engine)) as session:
        _, raw = await keys.create_key(session, "bench", "CITES", ["read", "write"])
    await engine.dispose()
    headers = {"Authorization": f"Bearer {raw}"}
    env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": redis_url, "QUEUE_NAME": queue}
    worker = _start_worker(env, log)
    try:
        app = create_app(
            Settings(database_url=url, redis_url=redis_url, queue_name=queue, log_level="WARNING")
        )
        times: list[float] = []
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://bench.test"
            ) as client,
        ):
            await asyncio.sleep(3)  # the worker's startup sweep
            monday = date.today() + timedelta(days=14 - date.today().weekday())
            for i in range(n):
                body = {
                    "secretariat": "CITES",
                    "kind": "ict",
                    "title": f"Bench request {i}",
                    "skills": [],
                    "start_date": (monday + timedelta(days=7 * (i % 20))).isoformat(),
                    "end_date": (monday + timedelta(days=7 * (i % 20) + 4)).isoformat(),
                    "hours": 4,
                    "priority": "critical",
                }
                started = time.perf_counter()
                made = await client.post("/v1/workload-requests", json=body, headers=headers)
                assert made.status_code == 201, made.text
                rid = made.json()["id"]
                while time.perf_counter() - started < 30:
                    page = await client.get(
                        "/v1/allocations",
                        params={"request_id": rid, "status": "proposed"},
                        headers=headers,
                    )
                    if page.json()["items"]:
                        break
                    await asyncio.sleep(0.02)
                else:
                    raise RuntimeError(f"no proposal for request {i} within 30 s: see {log}")
                times.append(time.perf_counter() - started)
                await asyncio.sleep(0.2)
        return times
    finally:
        worker.terminate()
        try:
            worker.wait(15)
        except subprocess.TimeoutExpired:
            worker.kill()


async def main(n: int) -> int:
    from shared.db import create_engine, create_session_factory
    from shared.matching import service, triggers  # noqa: F401 (loaded before the freeze)
    from shared.migrate import upgrade_head

    # The runs below are timed as the worker carries them out: the worker keeps what it loads
    # at start-up (every module of its tasks, the matching service among them) out of the
    # cyclic GC.
    gc.freeze()
    database_url = (
        os.environ.get("BENCH_DATABASE_URL")
        or os.environ.get("TEST_DATABASE_URL")
        or DEFAULT_DATABASE_URL
    )
    redis_url = (
        os.environ.get("BENCH_REDIS_URL") or os.environ.get("TEST_REDIS_URL") or DEFAULT_REDIS_URL
    )
    rows = []
    ttp: list[float] = []
    for scale in ("small", "realistic"):
        name = f"tandem_bench_runs_{scale}_{os.getpid()}"
        await _admin(database_url, f'CREATE DATABASE "{name}"')
        url = _with_database(database_url, name)
        try:
            await asyncio.to_thread(upgrade_head, url)
            requests, offers = await _load(url, scale)
            engine = create_engine(url, pool_size=2)
            factory = create_session_factory(engine)
            first, figures = await _timed_run(factory)
            again, figures2 = await _timed_run(factory)
            await engine.dispose()
            rows.append((scale, requests, offers, first, figures, again, figures2))
            if scale == "realistic":
                ttp = await _time_to_proposal(url, redis_url, n, Path(f"/tmp/{name}-worker.log"))
        finally:
            await _admin(database_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    print(
        f"{'scale':<10} {'req':>5} {'off':>5} {'pairs':>7} {'W':>8} {'hours':>7} "
        f"{'read s':>7} {'solve s':>8} {'write s':>8} {'run s':>7} {'added':>6} "
        f"{'rerun s':>8} {'kept':>6}"
    )
    for scale, requests, offers, first, f, again, f2 in rows:
        print(
            f"{scale:<10} {requests:>5} {offers:>5} {f['eligible_pairs']:>7} "
            f"{f['weight_served']:>8} {f['hours_proposed']:>7} {f['read_seconds']:>7.3f} "
            f"{f['solve_seconds']:>8.3f} {f['write_seconds']:>8.3f} {first:>7.3f} "
            f"{f['proposals_added']:>6} {again:>8.3f} {f2['proposals_kept']:>6}"
        )
    p50, p95 = statistics.median(ttp), _q(ttp, 0.95)
    print(
        f"time to proposal (realistic, {len(ttp)} requests): p50 {p50 * 1000:.0f} ms, "
        f"p95 {p95 * 1000:.0f} ms, max {max(ttp) * 1000:.0f} ms "
        f"({'meets' if p95 < 2 else 'misses'} the 2 s target)"
    )
    return 0 if p95 < 2 else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20, help="requests timed for time to proposal")
    sys.exit(asyncio.run(main(parser.parse_args().n)))
