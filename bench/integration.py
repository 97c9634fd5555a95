"""Integration benchmark: change-feed read throughput and commit-to-webhook-delivery lag.

    uv run python -m bench.integration [--activities 2000] [--events 200] [--rate 20]

Runs against a scratch database made on the server of TEST_DATABASE_URL (or an embedded
PostgreSQL) and the Redis of TEST_REDIS_URL (or an embedded one), with the API served by
a real uvicorn process and the real worker, everything on 127.0.0.1; the database is
dropped at the end. The data set: meetings and joint activities loaded the way a sync job
would (batch upserts of 1,000), then an update of every activity, so the feed holds
creates and updates of realistic objects.

Figures printed:
- batch upsert: items/s when creating, and when sending the same batch again;
- change feed: entries/s reading the whole feed over HTTP at page sizes 1000 and 100;
- webhook lag: from the commit of an activity change (taken right after COMMIT returns,
  in this process, which then nudges the worker as the API does) to the receiver getting
  the signed POST, p50 and p95, with changes paced at --rate per second.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson

from shared import queue
from shared.activities import service as activities
from shared.db import create_engine, create_session_factory, session_scope
from shared.embedded import free_port
from shared.keys import service as keys
from shared.migrate import upgrade_head
from shared.policy import Principal
from tests.servers import TestServers, database_url_for, start_process, stop_process, wait_for

THEMES = ("species", "listings_nomenclature", "governing_bodies", "nbsap", "funding", "liaison")
SPECIES = ("Loxodonta africana", "Carcharodon carcharias", "Saiga tatarica", "Gorilla gorilla")
ADMIN = Principal(uuid.uuid4(), "bench", None, frozenset({"admin"}))


def _meeting(n: int) -> dict[str, Any]:
    secretariat = "CITES" if n % 2 else "CMS"
    return {
        "code": f"{secretariat} M{n}",
        "title": f"Meeting {n} of a governing body",
        "secretariat": secretariat,
        "body": "Standing Committee",
        "location": "CH GVA" if secretariat == "CITES" else "DE BON",
        "start_date": f"20{27 + n % 3}-0{1 + n % 9}-10",
        "end_date": f"20{27 + n % 3}-0{1 + n % 9}-14",
        "external_ref": {"source": "bench-calendar", "id": f"m{n}"},
    }


def _activity(n: int, meetings: int) -> dict[str, Any]:
    lead, partner = ("CMS", "CITES") if n % 3 else ("CITES", "CMS")
    return {
        "title": f"Joint activity {n}: {SPECIES[n % len(SPECIES)]}",
        "description": "Coordinated support to range States on conservation and trade. " * 4,
        "theme": THEMES[n % len(THEMES)],
        "species": [SPECIES[n % len(SPECIES)]],
        "lead_secretariat": lead,
        "partner_secretariats": [partner],
        "status": "planned",
        "start_date": "2026-01-01",
        "end_date": "2028-12-31",
        "meeting_codes": [_meeting(n % meetings)["code"]],
        "tags": ["bench", f"t{n % 17}"],
        "external_ref": {"source": "bench-website", "id": f"a{n}"},
    }


async def _batches(
    client: httpx.AsyncClient, collection: str, items: list[dict[str, Any]], owner_field: str
) -> float:
    """Send the items in batches of 1,000, one secretariat's at a time (an admin key names
    the secretariat its references are resolved in)."""
    started = time.perf_counter()
    for owner in sorted({item[owner_field] for item in items}):
        mine = [item for item in items if item[owner_field] == owner]
        for i in range(0, len(mine), 1000):
            response = await client.post(
                f"/v1/{collection}:batch-upsert",
                params={"secretariat": owner},
                json={"items": mine[i : i + 1000]},
                timeout=600,
            )
            response.raise_for_status()
            errors = response.json()["counts"]["error"]
            assert errors == 0, response.json()["items"][:3]
    return time.perf_counter() - started


async def _read_feed(client: httpx.AsyncClient, limit: int) -> tuple[int, float]:
    started = time.perf_counter()
    count, cursor = 0, None
    while True:
        params: dict[str, Any] = {"limit": limit}
        if cursor:
            params["after"] = cursor
        response = await client.get("/v1/changes", params=params)
        response.raise_for_status()
        page = response.json()
        count += len(page["items"])
        cursor = page["next_cursor"]
        if len(page["items"]) < limit:
            return count, time.perf_counter() - started


class _Receiver:
    def __init__(self) -> None:
        self.arrivals: dict[tuple[str, int], float] = {}
        received = self.arrivals

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                now = time.time()
                data = orjson.loads(body)["data"]
                received.setdefault((data["id"], data["version"]), now)
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def bench(args: argparse.Namespace) -> None:
    work = Path(tempfile.mkdtemp(prefix="tandem-bench-"))
    servers = TestServers()
    name = f"tandem_bench_integration_{uuid.uuid4().hex[:8]}"
    admin_dsn = servers.admin_database_url.replace("postgresql+asyncpg://", "postgresql://", 1)
    conn = await asyncpg.connect(admin_dsn)
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    url = database_url_for(servers.admin_database_url, name)
    await asyncio.to_thread(upgrade_head, url)
    port = free_port()
    env = {
        "DATABASE_URL": url,
        "REDIS_URL": servers.redis_url,
        "QUEUE_NAME": f"tandem-bench-{name}",
        "API_HOST": "127.0.0.1",
        "API_PORT": str(port),
        "LOG_LEVEL": "WARNING",
        "WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",
    }
    env = {**os.environ, **env}
    engine = create_engine(url, pool_size=4)
    factory = create_session_factory(engine)
    api = start_process("services.api", env, work / "api.log")
    worker = start_process("services.worker", env, work / "worker.log")
    receiver = _Receiver()
    pool = queue.lazy_queue(servers.redis_url, env["QUEUE_NAME"])
    try:
        base = f"http://127.0.0.1:{port}"

        def ready() -> bool:
            try:
                return httpx.get(f"{base}/readyz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        assert wait_for(ready, timeout=60), (work / "api.log").read_text()[-2000:]
        async with session_scope(factory) as session:
            _, raw = await keys.create_key(session, "bench-admin", None, ["admin"])
        headers = {"Authorization": f"Bearer {raw}"}
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=60) as client:
            meetings = [_meeting(n) for n in range(args.meetings)]
            await _batches(client, "meetings", meetings, "secretariat")
            items = [_activity(n, args.meetings) for n in range(args.activities)]
            created_s = await _batches(client, "activities", items, "lead_secretariat")
            again_s = await _batches(client, "activities", items, "lead_secretariat")
            for item in items:
                item["status"] = "ongoing"
            await _batches(client, "activities", items, "lead_secretariat")
            print(
                f"batch upsert: {len(items) / created_s:,.0f} items/s creating, "
                f"{len(items) / again_s:,.0f} items/s unchanged "
                f"({len(items)} activities in batches of 1000)"
            )

            for limit in (1000, 100):
                rates = []
                for _ in range(3):
                    count, seconds = await _read_feed(client, limit)
                    rates.append(count / seconds)
                print(
                    f"change feed read: {statistics.median(rates):,.0f} entries/s "
                    f"(limit={limit}, {count} entries, median of 3 full reads over HTTP)"
                )

            made = await client.post(
                "/v1/webhooks", json={"url": receiver.url, "events": ["activity.changed"]}
            )
            made.raise_for_status()
            listed = await client.get("/v1/activities", params={"limit": args.events})
            targets = [a["id"] for a in listed.json()["items"]]

        committed: dict[tuple[str, int], float] = {}
        for n, ident in enumerate(targets):
            async with factory() as session:
                activity = await activities.patch(
                    session, ADMIN, uuid.UUID(ident), {"tags": ["bench", f"lag{n}"]}, None
                )
                await session.commit()
                committed[(ident, activity.version)] = time.time()
                jobs = queue.take_pending(session)
            await queue.send(pool, jobs)
            await asyncio.sleep(1 / args.rate)
        for _ in range(600):  # up to a minute for the last deliveries
            if len(receiver.arrivals) >= len(committed):
                break
            await asyncio.sleep(0.1)
        lags = [
            (receiver.arrivals[k] - t) * 1000
            for k, t in committed.items()
            if k in receiver.arrivals
        ]
        print(
            f"webhook lag commit->delivery: p50 {_pct(lags, 0.5):.0f} ms, "
            f"p95 {_pct(lags, 0.95):.0f} ms ({len(lags)}/{len(committed)} delivered, "
            f"{args.rate}/s)"
        )
    finally:
        receiver.close()
        await pool.aclose()
        stop_process(worker)
        stop_process(api)
        await engine.dispose()
        conn = await asyncpg.connect(admin_dsn)
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()
        servers.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--activities", type=int, default=2000)
    parser.add_argument("--meetings", type=int, default=100)
    parser.add_argument("--events", type=int, default=200, help="changes for the lag figure")
    parser.add_argument("--rate", type=float, default=20, help="changes per second")
    asyncio.run(bench(parser.parse_args()))


if __name__ == "__main__":
    main()
