"""`make bench-abuse`: what abuse costs the API, on loopback only and bounded in time.

Starts one API process on a free port against a fresh database (as bench/api.py does), then:

1. a legitimate reader (`GET /v1/activities?limit=50`, one connection) alone, for its p99;
2. 50 connections posting 5 MiB batch bodies without a key: the API's resident memory, how
   fast each 401 comes, and the reader's p99 meanwhile;
3. 500 connections with unknown keys (a fresh random key per request): database
   transactions per refused request (pg_stat_database) and the reader's p99 meanwhile;
4. on an API with a budget of RATE per key, one key at 10x its budget against another key
   within its own: 429s with Retry-After for the first, every request served for the second.

Attackers run in a separate process (`--attacker`); `--help` for flags.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import asyncpg
import orjson

from bench import dataset
from bench.api import (
    _admin,
    _asyncpg_dsn,
    _make_key,
    _with_database,
    find_servers,
    machine,
    server,
)
from shared.embedded import free_port

FIVE_MIB = 5 * 1024 * 1024
# An idle PostgreSQL backend reports its counts to pg_stat_database within 10 s.
STATS_LAG = 11.0
READ_PATH = "/v1/activities?limit=50"


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, head: bytes, body: bytes = b""
) -> tuple[int, dict[str, str], float]:
    """Send one request; its status, headers and the seconds from the head sent to the answer.
    The body (if any) is sent while the answer is awaited, as an attacker would."""
    writer.write(head)
    await writer.drain()
    started = time.perf_counter()
    sending = asyncio.create_task(_send_body(writer, body)) if body else None
    status_line = await reader.readline()
    elapsed = time.perf_counter() - started
    headers: dict[str, str] = {}
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    await reader.readexactly(int(headers.get("content-length", "0")))
    if sending is not None:
        await sending
    return int(status_line.split()[1]), headers, elapsed


async def _send_body(writer: asyncio.StreamWriter, body: bytes) -> None:
    # The API hangs up once it has refused: the rest of the body goes nowhere.
    with contextlib.suppress(ConnectionError):
        writer.write(body)
        await writer.drain()


def _head(method: str, path: str, key: str | None, length: int = 0) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    if key:
        lines.append(f"Authorization: Bearer {key}")
    if length:
        lines += ["Content-Type: application/json", f"Content-Length: {length}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def _attack(kind: str, port: int, connections: int, duration: float, key: str) -> dict:
    """Run one kind of attacker for `duration` seconds; counts and latencies."""
    deadline = time.monotonic() + duration
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    retry_after_missing = 0
    body = b"[" * FIVE_MIB

    async def one() -> None:
        nonlocal retry_after_missing
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while time.monotonic() < deadline:
                if writer.is_closing() or reader.at_eof():
                    writer.close()
                    reader, writer = await asyncio.open_connection("127.0.0.1", port)
                if kind == "bodies":
                    head = _head("POST", "/v1/activities:batch-upsert", None, FIVE_MIB)
                    status, headers, elapsed = await _exchange(reader, writer, head, body)
                elif kind == "keys":
                    head = _head("GET", READ_PATH, "tdm_" + secrets.token_urlsafe(32))
                    status, headers, elapsed = await _exchange(reader, writer, head)
                else:
                    status, headers, elapsed = await _exchange(
                        reader, writer, _head("GET", READ_PATH, key)
                    )
                latencies.append(elapsed)
                statuses[status] = statuses.get(status, 0) + 1
                if headers.get("connection") == "close":
                    writer.close()
                if status == 429 and "retry-after" not in headers:
                    retry_after_missing += 1
                if kind == "flood":
                    await asyncio.sleep(connections / FLOOD_RATE)
        except (ConnectionError, asyncio.IncompleteReadError):
            statuses[-1] = statuses.get(-1, 0) + 1
        finally:
            writer.close()

    await asyncio.gather(*(one() for _ in range(connections)))
    return {
        "requests": len(latencies),
        "statuses": statuses,
        "p50_ms": _percentile(latencies, 50) * 1000,
        "p99_ms": _percentile(latencies, 99) * 1000,
        "max_ms": max(latencies, default=0) * 1000,
        "retry_after_missing": retry_after_missing,
    }


FLOOD_RATE = 100.0  # requests per second the flooding key sends (set from --rate)


def _percentile(values: list[float], pct: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * pct / 100))]


async def _read(port: int, key: str, duration: float, rate: float = 0.0) -> dict:
    """The legitimate reader: one connection, one request after the other (or at `rate`/s)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    deadline = time.monotonic() + duration
    try:
        while time.monotonic() < deadline:
            started = time.perf_counter()
            status, _, _ = await _exchange(reader, writer, _head("GET", READ_PATH, key))
            latencies.append(time.perf_counter() - started)
            statuses[status] = statuses.get(status, 0) + 1
            if rate:
                await asyncio.sleep(1 / rate)
    finally:
        writer.close()
    return {
        "requests": len(latencies),
        "statuses": statuses,
        "p50_ms": _percentile(latencies, 50) * 1000,
        "p99_ms": _percentile(latencies, 99) * 1000,
    }


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def _transactions(dsn: str, name: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("SELECT pg_stat_clear_snapshot()")
        return int(
            await conn.fetchval(
                "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = $1",
                name,
            )
        )
    finally:
        await conn.close()


def _start_attacker(kind: str, port: int, connections: int, duration: float, key: str = ""):  # type: ignore[no-untyped-def]
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bench.abuse",
            "--attacker",
            kind,
            "--port",
            str(port),
            "--connections",
            str(connections),
            "--duration",
            str(duration),
            "--key",
            key,
            "--rate",
            str(FLOOD_RATE),
        ],
        stdout=subprocess.PIPE,
    )


def _attacker_result(proc: subprocess.Popen[bytes]) -> dict[str, Any]:
    out, _ = proc.communicate(timeout=120)
    return dict(orjson.loads(out.splitlines()[-1]))


def main(argv: list[str] | None = None) -> None:
    global FLOOD_RATE
    p = argparse.ArgumentParser(prog="make bench-abuse BENCH_ARGS=...", description=__doc__)
    p.add_argument("--duration", type=float, default=15, help="seconds per attack (15)")
    p.add_argument("--rate", type=float, default=10.0, help="key budget per second (10)")
    p.add_argument("--quick", action="store_true", help="5 s per attack, for smoke testing")
    p.add_argument(
        "--attacker", choices=("bodies", "keys", "flood", "probe"), help=argparse.SUPPRESS
    )
    p.add_argument("--port", type=int, help=argparse.SUPPRESS)
    p.add_argument("--connections", type=int, default=1, help=argparse.SUPPRESS)
    p.add_argument("--key", default="", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.attacker == "probe":
        probes = asyncio.run(_probe(args.port, args.duration))
        summary = {
            "probes": len(probes),
            "probe_p50_ms": _percentile(probes, 50) * 1000,
            "probe_p99_ms": _percentile(probes, 99) * 1000,
        }
        print(orjson.dumps(summary).decode(), flush=True)
        return
    if args.attacker:
        FLOOD_RATE = args.rate
        result = asyncio.run(
            _attack(args.attacker, args.port, args.connections, args.duration, args.key)
        )
        print(orjson.dumps(result, option=orjson.OPT_NON_STR_KEYS).decode(), flush=True)
        return
    duration = 5.0 if args.quick else args.duration
    tmp = Path(tempfile.mkdtemp(prefix="tandem-abuse-"))
    servers = find_servers(tmp)
    name = f"tandem_abuse_{secrets.token_hex(4)}"
    url = _with_database(servers.database_url, name)
    admin_dsn = _asyncpg_dsn(servers.database_url)
    asyncio.run(_admin(servers.database_url, f'CREATE DATABASE "{name}"'))
    lines: list[str] = []
    try:
        from shared.migrate import upgrade_head

        upgrade_head(url)
        key, other = asyncio.run(_make_key(url)), asyncio.run(_other_key(url))
        asyncio.run(dataset.load(_asyncpg_dsn(url), 2000))
        port = free_port()
        env = {
            "DATABASE_URL": url,
            "REDIS_URL": servers.redis_url,
            "API_HOST": "127.0.0.1",
            "API_PORT": str(port),
            "LOG_LEVEL": "WARNING",
            "QUEUE_NAME": f"{name}:queue",
            # Every client here shares one address: only the key budgets are measured.
            "RATE_LIMIT_PER_ADDRESS": "0",
            "RATE_LIMIT_PER_KEY": "0",
        }
        with server("services.api", env, port, tmp / "api.log") as pid:
            asyncio.run(_read(port, key, 2))  # warm-up
            alone = asyncio.run(_read(port, key, duration / 3))
            lines.append(
                f"reader alone: p50 {alone['p50_ms']:.1f} ms, p99 {alone['p99_ms']:.1f} ms "
                f"({alone['requests']} requests)"
            )
            per_read = asyncio.run(_per_read_transactions(admin_dsn, name, port, key))

            rss0 = _rss_mib(pid)
            attacker = _start_attacker("bodies", port, 50, duration)
            peak = rss0
            # The probe has a process of its own: its 5 MiB writes would otherwise hold up
            # the reader's event loop, and the reader's its answers.
            time.sleep(0.5)
            prober = _start_attacker("probe", port, 1, duration - 1)
            reading = asyncio.run(_read_while(port, key, duration, pid))
            peak = max(peak, reading.pop("peak_rss"))
            bodies = _attacker_result(attacker)
            reading |= _attacker_result(prober)
            time.sleep(1)
            rss1 = _rss_mib(pid)
            lines.append(
                f"50 connections x 5 MiB bodies without a key, {duration:g} s: "
                f"{bodies['requests']} requests {bodies['statuses']}, 401 as the attackers "
                f"saw it p50 {bodies['p50_ms']:.1f} ms p99 {bodies['p99_ms']:.1f} ms; "
                f"as a quiet probe saw it ({reading['probes']} probes) p50 "
                f"{reading['probe_p50_ms']:.1f} ms p99 {reading['probe_p99_ms']:.1f} ms; "
                f"API RSS {rss0:.0f} -> peak {peak:.0f} -> "
                f"{rss1:.0f} MiB (rise {peak - rss0:.0f} MiB); reader p99 "
                f"{reading['p99_ms']:.1f} ms ({reading['p99_ms'] / alone['p99_ms']:.1f}x alone)"
            )

            before = asyncio.run(_transactions(admin_dsn, name))
            attacker = _start_attacker("keys", port, 500, duration)
            reading = asyncio.run(_read_while(port, key, duration, pid))
            unknown = _attacker_result(attacker)
            time.sleep(STATS_LAG)
            made = asyncio.run(_transactions(admin_dsn, name)) - before
            by_attack = max(0.0, made - per_read * reading["requests"])
            lines.append(
                f"500 connections with unknown keys, {duration:g} s: {unknown['requests']} "
                f"requests {unknown['statuses']}, p99 {unknown['p99_ms']:.1f} ms; database "
                f"transactions {made} of which the reader's ~{per_read * reading['requests']:.0f}"
                f" -> {by_attack / max(1, unknown['requests']):.4f} per refused request; "
                f"reader p50 {reading['p50_ms']:.1f} ms p99 {reading['p99_ms']:.1f} ms"
            )

        env["RATE_LIMIT_PER_KEY"] = str(int(args.rate))
        env["RATE_LIMIT_WINDOW_SECONDS"] = "1"
        FLOOD_RATE = args.rate * 10
        with server("services.api", env, port, tmp / "api-limited.log"):
            attacker = _start_attacker("flood", port, 10, duration, key)
            calm = asyncio.run(_read(port, other, duration, rate=args.rate / 2))
            flood = _attacker_result(attacker)
            lines.append(
                f"one key at 10x its budget ({args.rate * 10:g}/s against {args.rate:g}/s), "
                f"{duration:g} s: {flood['statuses']}, 429s without Retry-After "
                f"{flood['retry_after_missing']}; another key at {args.rate / 2:g}/s: "
                f"{calm['statuses']}"
            )
        print()
        print(f"machine: {machine(servers, 'bench/abuse.py (asyncio, separate process)')}")
        print(f"load average before the end: {os.getloadavg()[0]:.2f}")
        for line in lines:
            print(f"- {line}")
    finally:
        asyncio.run(_admin(servers.database_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        servers.stop()


async def _other_key(url: str) -> str:
    from shared.db import create_engine, create_session_factory, session_scope
    from shared.keys import service as keys

    engine = create_engine(url, pool_size=1)
    try:
        async with session_scope(create_session_factory(engine)) as session:
            _, raw = await keys.create_key(session, "bench-other", "CMS", ["read"])
        return raw
    finally:
        await engine.dispose()


async def _per_read_transactions(dsn: str, name: str, port: int, key: str) -> float:
    """Database transactions one reader request makes (measured on 200 of them)."""
    before = await _transactions(dsn, name)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for _ in range(200):
            await _exchange(reader, writer, _head("GET", READ_PATH, key))
    finally:
        writer.close()
    await asyncio.sleep(STATS_LAG)
    return (await _transactions(dsn, name) - before) / 200


async def _probe(port: int, duration: float) -> list[float]:
    """One more 5 MiB body without a key every 100 ms, from a quiet process: seconds from
    its head sent to its 401 (the attackers' own figure includes their busy event loop)."""
    latencies: list[float] = []
    body = b"[" * FIVE_MIB
    deadline = time.monotonic() + duration
    while time.monotonic() < deadline:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        # The API hangs up on a refused body: a probe cut short is counted as no answer.
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            head = _head("POST", "/v1/activities:batch-upsert", None, FIVE_MIB)
            status, _, elapsed = await _exchange(reader, writer, head, body)
            if status == 401:
                latencies.append(elapsed)
        writer.close()
        await asyncio.sleep(0.1)
    return latencies


async def _read_while(port: int, key: str, duration: float, pid: int) -> dict[str, Any]:
    """The reader during an attack, and the API's peak resident memory meanwhile."""
    peak = 0.0

    async def watch() -> None:
        nonlocal peak
        with contextlib.suppress(asyncio.CancelledError):
            while True:
                peak = max(peak, _rss_mib(pid))
                await asyncio.sleep(0.1)

    watcher = asyncio.create_task(watch())
    await asyncio.sleep(0.5)  # let the attack start
    result = await _read(port, key, duration - 1)
    watcher.cancel()
    await watcher
    return {**result, "peak_rss": peak}


if __name__ == "__main__":
    main()
