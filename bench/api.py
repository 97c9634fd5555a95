"""`make bench-api`: the API's throughput and latency against a raw Starlette + asyncpg floor.

Loads 10,000 joint activities into a fresh database, starts one API process, drives
`GET /v1/activities?limit=50`, `GET /v1/activities/{id}` and `POST /v1/activities` from a
separate process (wrk, else a uvloop + httptools client), then does the same against
bench/floor.py, and prints a Markdown table with the our/floor ratios. `--help` for flags.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import orjson

from bench import dataset, load
from shared.embedded import EmbeddedPostgres, EmbeddedRedis, free_port

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
ENDPOINTS = {
    "list": "GET /v1/activities?limit=50",
    "get": "GET /v1/activities/{id}",
    "post": "POST /v1/activities",
}
# Targets: our requests/s as a share of the floor's, and p99 at the main concurrency.
TARGET_RATIO = {"list": 0.5, "get": 0.4, "post": 0.35}
TARGET_P99_MS = 100.0
# A stall: requests unanswered within the load generator's timeout (5 s), errors, or the
# throughput at 256 connections falling below half of that at 64.
STALL_THROUGHPUT = 0.5


def _asyncpg_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


def _with_database(url: str, name: str) -> str:
    head, sep, query = url.partition("?")
    return f"{head.rsplit('/', 1)[0]}/{name}{sep}{query}"


async def _answers(url: str) -> str | None:
    """The server's version when the database answers, else None."""
    try:
        conn = await asyncpg.connect(_asyncpg_dsn(url), timeout=3)
    except (TimeoutError, OSError, asyncpg.PostgresError):
        return None
    try:
        return str(await conn.fetchval("SHOW server_version"))
    finally:
        await conn.close()


def _redis_answers(url: str) -> bool:
    rest = url.split("://", 1)[1].split("/", 1)[0]
    host, _, port = rest.rpartition("@")[2].partition(":")
    try:
        with socket.create_connection((host or "127.0.0.1", int(port or 6379)), timeout=2) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@dataclass
class Servers:
    """The PostgreSQL and Redis the bench uses, and the embedded ones it started."""

    database_url: str
    redis_url: str
    pg_version: str
    started: list[EmbeddedPostgres | EmbeddedRedis] = field(default_factory=list)

    def stop(self) -> None:
        for server in self.started:
            server.stop()


def find_servers(tmp: Path) -> Servers:
    started: list[EmbeddedPostgres | EmbeddedRedis] = []
    candidates = [os.environ.get("BENCH_DATABASE_URL")]
    if os.environ.get("TEST_DATABASE_URL"):
        candidates.append(_with_database(os.environ["TEST_DATABASE_URL"], "postgres"))
    candidates.append(DEFAULT_DATABASE_URL)
    database_url, version = "", None
    for url in filter(None, candidates):
        version = asyncio.run(_answers(url))
        if version:
            database_url = url
            break
    if not version:
        print("no PostgreSQL answers; starting an embedded one", flush=True)
        pg = EmbeddedPostgres(tmp)
        database_url = pg.start("postgres")
        started.append(pg)
        version = asyncio.run(_answers(database_url)) or "?"
    redis_url = os.environ.get("BENCH_REDIS_URL") or DEFAULT_REDIS_URL
    if not _redis_answers(redis_url):
        print("no Redis answers; starting an embedded one", flush=True)
        redis = EmbeddedRedis(tmp)
        redis_url = redis.start()
        started.append(redis)
    return Servers(database_url, redis_url, version, started)


async def _admin(url: str, sql: str) -> None:
    conn = await asyncpg.connect(_asyncpg_dsn(url))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _make_key(database_url: str) -> str:
    """A CITES key with read and write scopes, made the way `tandem keys create` makes one."""
    from shared.db import create_engine, create_session_factory, session_scope
    from shared.keys import service as keys

    engine = create_engine(database_url, pool_size=1)
    try:
        async with session_scope(create_session_factory(engine)) as session:
            _, raw = await keys.create_key(session, "bench", "CITES", ["read", "write"])
        return raw
    finally:
        await engine.dispose()


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


@dataclass
class Measured:
    result: load.Result
    server_cpu: float  # share of one core used by the server process
    machine_cpu: float  # share of all cores busy
    cpu_us: float  # server CPU time per request, microseconds


def _wait_ready(port: int, path: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        with (
            contextlib.suppress(OSError),
            urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as r,
        ):
            if r.status == 200:
                return
        time.sleep(0.2)
    raise RuntimeError("server not ready within 60 s")


@contextlib.contextmanager
def server(module: str, env: dict[str, str], port: int, log: Path) -> Iterator[int]:
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", module],
            env={**os.environ, **env},
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_ready(port, "/readyz" if module == "services.api" else "/healthz", proc)
        yield proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def measure(
    job: load.Job, client: str, pid: int, profile: Path | None = None, label: str = ""
) -> Measured:
    spy = None
    if profile is not None:
        profile.mkdir(parents=True, exist_ok=True)
        spy = subprocess.Popen(
            [
                "py-spy",
                "record",
                "--pid",
                str(pid),
                "--duration",
                str(max(1, int(job.duration) - 1)),
                "--rate",
                "250",
                "--nonblocking",
                "--gil",
                "--format",
                "raw",
                "-o",
                str(profile / f"{label}.txt"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    cpu0, (busy0, total0), t0 = _cpu_seconds(pid), _machine_busy(), time.perf_counter()
    result = load.run(job, client)
    cpu1, (busy1, total1), t1 = _cpu_seconds(pid), _machine_busy(), time.perf_counter()
    if spy is not None:
        spy.wait()
    return Measured(
        result,
        (cpu1 - cpu0) / (t1 - t0),
        (busy1 - busy0) / max(1, total1 - total0),
        (cpu1 - cpu0) * 1e6 / max(1, result.requests),
    )


def warn_if_busy() -> None:
    """Say so when other processes already keep the machine busy: the figures would be low."""
    busy0, total0 = _machine_busy()
    time.sleep(1)
    busy1, total1 = _machine_busy()
    share = (busy1 - busy0) / max(1, total1 - total0)
    if share > 0.15:
        print(
            f"warning: the machine is {share:.0%} busy before the run; other processes will "
            "take CPU from the servers (compare CPU us/req, which they disturb less)",
            flush=True,
        )


def drive(
    targets: dict[str, tuple[int, int]],
    args: argparse.Namespace,
    files: dict[str, Path],
    key: str,
) -> dict[str, dict[tuple[str, int], Measured]]:
    """Run every endpoint against every target (name: (pid, port)), the targets one after
    the other for each endpoint, so that both see the same machine (it may be shared)."""
    out: dict[str, dict[tuple[str, int], Measured]] = {name: {} for name in targets}
    warn_if_busy()
    for conns, duration in (
        (args.connections, args.duration),
        (args.stall_connections, args.stall_duration),
    ):
        for mode in args.endpoints:
            for name, (pid, port) in targets.items():
                base = load.Job(port, mode, conns, args.warmup, key, files["ids"], files["body"])
                if args.warmup > 0:
                    warm = load.run(base, args.client)
                    # The warm-up's last requests are still being answered when its client
                    # hangs up: let them finish, or they count against the measured run's
                    # connections (at 256, the API's concurrency limit sheds them as 503s).
                    time.sleep(min(5.0, warm.max_ms / 1000 + 0.25))
                job = load.Job(port, mode, conns, duration, key, files["ids"], files["body"])
                profile = args.profile if name == "tandem" and conns == args.connections else None
                m = measure(job, args.client, pid, profile, mode)
                out[name][(mode, conns)] = m
                r = m.result
                print(
                    f"  {name:6} {mode:4} c={conns:<3} {r.rps:8.0f} req/s  "
                    f"p50 {r.p50_ms:6.1f} ms  p99 {r.p99_ms:6.1f} ms  max {r.max_ms:7.1f} ms  "
                    f"errors {r.errors} ({r.non_2xx} answers)  timeouts {r.timeouts}  "
                    f"server cpu {m.server_cpu:4.0%} "
                    f"({m.cpu_us:,.0f} us/req)  machine cpu {m.machine_cpu:4.0%}",
                    flush=True,
                )
    return out


def machine(servers: Servers, client: str) -> str:
    model = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return (
        f"{os.cpu_count()} cores ({model}), PostgreSQL {servers.pg_version}, "
        f"Python {platform.python_version()}, load from {client} (1 thread, separate process)"
    )


def table(
    args: argparse.Namespace,
    ours: dict[tuple[str, int], Measured],
    floor: dict[tuple[str, int], Measured],
) -> str:
    c, s = args.connections, args.stall_connections
    lines = [
        f"| endpoint ({c} connections, {args.duration:g} s) | Tandem req/s | p50 ms | p99 ms "
        "| errors | CPU us/req | floor req/s | floor p50 ms | floor p99 ms | floor CPU us/req "
        "| Tandem/floor req/s | floor/Tandem CPU per request | target |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for mode in args.endpoints:
        om, f = ours[(mode, c)], floor.get((mode, c))
        o = om.result
        ratio = o.rps / f.result.rps if f and f.result.rps else float("nan")
        ratio_ok = ratio >= TARGET_RATIO[mode]
        p99_ok = o.p99_ms < TARGET_P99_MS
        lines.append(
            f"| `{ENDPOINTS[mode]}` | {o.rps:,.0f} | {o.p50_ms:.1f} | {o.p99_ms:.1f} "
            f"| {o.errors + o.timeouts} | {om.cpu_us:,.0f} | "
            + (
                f"{f.result.rps:,.0f} | {f.result.p50_ms:.1f} | {f.result.p99_ms:.1f} "
                f"| {f.cpu_us:,.0f} "
                if f
                else "- | - | - | - "
            )
            + f"| {ratio:.2f} | "
            + (f"{f.cpu_us / om.cpu_us:.2f} " if f and om.cpu_us else "- ")
            + f"| req/s >= {TARGET_RATIO[mode]}: "
            + ("met" if ratio_ok else "**missed**")
            + f"; p99 < {TARGET_P99_MS:g} ms: "
            + ("met |" if p99_ok else "**missed** |")
        )
    lines += [
        "",
        f"| endpoint ({s} connections, {args.stall_duration:g} s) | Tandem req/s | p99 ms "
        "| max ms | errors + timeouts (> 5 s) | floor req/s | floor max ms | stall? |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for mode in args.endpoints:
        o, f = ours[(mode, s)].result, floor.get((mode, s))
        base = ours[(mode, c)].result.rps
        stalled = o.errors + o.timeouts > 0 or o.rps < STALL_THROUGHPUT * base
        lines.append(
            f"| `{ENDPOINTS[mode]}` | {o.rps:,.0f} | {o.p99_ms:.1f} | {o.max_ms:.1f} "
            f"| {o.errors + o.timeouts} | "
            + (f"{f.result.rps:,.0f} | {f.result.max_ms:.1f} " if f else "- | - ")
            + ("| **stall** |" if stalled else "| none |")
        )
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="make bench-api BENCH_ARGS=...", description=__doc__)
    p.add_argument("--duration", type=float, default=15, help="seconds per measured run (15)")
    p.add_argument("--connections", type=int, default=64, help="concurrent connections (64)")
    p.add_argument("--stall-connections", type=int, default=256, help="the stall check's (256)")
    p.add_argument("--stall-duration", type=float, default=8, help="its seconds per run (8)")
    p.add_argument("--warmup", type=float, default=2, help="seconds of warm-up before a run (2)")
    p.add_argument("--activities", type=int, default=10_000, help="activities loaded (10000)")
    p.add_argument("--quick", action="store_true", help="a short run for smoke testing")
    p.add_argument(
        "--client",
        choices=("auto", "wrk", "python"),
        default="auto",
        help="load generator: wrk (installed with apt-get when missing and root) or python",
    )
    p.add_argument("--endpoints", default="list,get,post", help="which of list,get,post")
    p.add_argument("--only", choices=("both", "tandem", "floor"), default="both")
    p.add_argument("--profile", type=Path, help="record py-spy profiles of the API into DIR")
    p.add_argument("--keep", action="store_true", help="keep the bench database afterwards")
    args = p.parse_args(argv)
    args.endpoints = [e for e in args.endpoints.split(",") if e]
    if unknown := set(args.endpoints) - set(ENDPOINTS):
        p.error(f"unknown endpoints {unknown}")
    if args.quick:
        args.duration, args.stall_duration, args.warmup = 3, 2, 1
        args.activities = min(args.activities, 2000)
    if args.client == "auto":
        args.client = "wrk" if load.install_wrk() else "python"
        if args.client == "python":
            print(
                "wrk not found: using the Python load generator (it takes more CPU from the "
                "server); for steadier figures: sudo apt-get install -y wrk",
                flush=True,
            )
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="tandem-bench-"))
    servers = find_servers(tmp)
    name = f"tandem_bench_{secrets.token_hex(4)}"
    url = _with_database(servers.database_url, name)
    asyncio.run(_admin(servers.database_url, f'CREATE DATABASE "{name}"'))
    try:
        from shared.migrate import upgrade_head

        print(f"database {name} on PostgreSQL {servers.pg_version}; migrating", flush=True)
        upgrade_head(url)
        key = asyncio.run(_make_key(url))
        t0 = time.perf_counter()
        ids = asyncio.run(dataset.load(_asyncpg_dsn(url), args.activities))
        print(f"loaded {len(ids):,} activities in {time.perf_counter() - t0:.1f} s", flush=True)
        files = {"ids": tmp / "ids.txt", "body": tmp / "body.json"}
        files["ids"].write_text("\n".join(ids) + "\n")
        body = dataset.activity_body(dataset.random.Random(7), 0)
        body |= {"lead_secretariat": "CITES", "partner_secretariats": ["CMS"]}
        files["body"].write_bytes(orjson.dumps(body))

        api_port, floor_port = free_port(), free_port()
        api_env = {
            "DATABASE_URL": url,
            "REDIS_URL": servers.redis_url,
            "API_HOST": "127.0.0.1",
            "API_PORT": str(api_port),
            "LOG_LEVEL": "WARNING",
            "QUEUE_NAME": f"{name}:queue",
            # The limiter runs (its Redis round trip is part of every request's cost), with a
            # budget no load here reaches: the bench measures serving, not refusing.
            "RATE_LIMIT_PER_KEY": "1000000000",
            "RATE_LIMIT_PER_ADDRESS": "1000000000",
        }
        floor_env = {"FLOOR_DATABASE_URL": url, "FLOOR_PORT": str(floor_port)}
        with contextlib.ExitStack() as stack:
            # Both servers up at once; only the one being driven does any work.
            targets: dict[str, tuple[int, int]] = {}
            if args.only in ("both", "tandem"):
                pid = stack.enter_context(
                    server("services.api", api_env, api_port, tmp / "api.log")
                )
                targets["tandem"] = (pid, api_port)
            if args.only in ("both", "floor"):
                pid = stack.enter_context(
                    server("bench.floor", floor_env, floor_port, tmp / "floor.log")
                )
                targets["floor"] = (pid, floor_port)
            results = drive(targets, args, files, key)
        ours, floor = results.get("tandem", {}), results.get("floor", {})
        print()
        print(f"Machine: {machine(servers, args.client)}.")
        print(
            f"{args.activities:,} activities; one API process (uvicorn, uvloop, httptools, "
            "LOG_LEVEL=WARNING, DB_POOL_SIZE=10); the floor is bench/floor.py on the same "
            "uvicorn settings and pool size."
        )
        print()
        if ours:
            print(table(args, ours, floor))
        elif floor:
            print(table(args, floor, {}))
    finally:
        if not args.keep:
            asyncio.run(
                _admin(servers.database_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            )
        servers.stop()
        if args.keep:
            print(f"kept: database {name}, logs and files in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
