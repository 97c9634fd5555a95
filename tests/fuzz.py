"""`make fuzz`: schemathesis with every check, positive and negative data, against a live API.

Makes a fresh database (on TEST_DATABASE_URL's server, else an embedded PostgreSQL), migrates
it, makes a key with every scope, starts the API with uvicorn on a free port, makes real
objects through it (meetings, an activity, requests and offers, webhooks, keys, and the
allocations the real worker proposes for them) and runs `schemathesis run --checks all --mode
all` against its /openapi.json. Half the path ids schemathesis draws are those objects' (its
dictionaries, bound per parameter), half are its own, so the routes past the lookup run as well
as their 404s. Each operation that ends an object's life (delete, cancel, withdraw, revoke,
accept, decline) draws from objects of its own, so it does not end those the others reach.
FUZZ_EXAMPLES (default 100) is the number of examples per operation; FUZZ_SEED replays a run (a
random seed is drawn and printed otherwise). Extra arguments are passed to schemathesis. Exit
status: schemathesis'.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import shutil
import subprocess
import sys
import uuid
from collections.abc import Mapping
from pathlib import Path

import asyncpg
import httpx

from shared.db import create_engine, create_session_factory
from shared.embedded import free_port
from shared.migrate import upgrade_head
from tests.factories import activity_body, make_key, meeting_body
from tests.servers import TestServers, database_url_for, start_process, stop_process, wait_for
from tests.support.factories import offer_body, request_body, week

ROOT = Path(__file__).resolve().parent.parent


async def _admin_exec(admin_url: str, sql: str) -> None:
    conn = await asyncpg.connect(admin_url.replace("postgresql+asyncpg://", "postgresql://", 1))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _keys(database_url: str) -> dict[str, dict[str, str]]:
    """A key with every scope (schemathesis'), and each secretariat's, to make its objects."""
    engine = create_engine(database_url, pool_size=1)
    factory = create_session_factory(engine)
    scopes = ["read", "write", "approve"]
    try:
        return {
            "fuzz": await make_key(factory, "fuzz", None, [*scopes, "admin"]),
            "CITES": await make_key(factory, "fuzz-cites", "CITES", scopes),
            "CMS": await make_key(factory, "fuzz-cms", "CMS", scopes),
        }
    finally:
        await engine.dispose()


# The webhook targets' host: allow-listed, so that no name is resolved while fuzzing.
WEBHOOK_HOST = "hooks.example.org"
PAIRS = 8
"""request and offer pairs; the worker proposes an allocation for each"""
# Path parameter -> the operations that end the object's life (each has objects of its own).
ENDING: dict[str, list[str]] = {
    "code": [],
    "day": [],  # a closure's: deleting it is all there is to do with it by day
    "meeting": ["POST /v1/meetings/{meeting}/cancel"],
    "activity_id": ["DELETE /v1/activities/{activity_id}"],
    "request_id": ["POST /v1/workload-requests/{request_id}/cancel"],
    "offer_id": ["POST /v1/capacity-offers/{offer_id}/withdraw"],
    "webhook_id": ["DELETE /v1/webhooks/{webhook_id}"],
    "key_id": ["POST /v1/api-keys/{key_id}/revoke"],
    "allocation_id": [
        f"POST /v1/allocations/{{allocation_id}}/{verb}" for verb in ("accept", "decline", "cancel")
    ],
}


def _made(client: httpx.Client, path: str, body: Mapping[str, object], key: dict[str, str]) -> str:
    response = client.post(path, json=body, headers=key)
    if response.status_code != 201:
        raise RuntimeError(f"POST {path}: {response.status_code} {response.text}")
    return str(response.json()["id"])


def _objects(client: httpx.Client, keys: dict[str, dict[str, str]]) -> dict[str, list[str]]:
    """Two of each object per role (one set read and changed, one set per ending operation)."""
    ids: dict[str, list[str]] = {name: [] for name in ENDING}
    ids["code"] = ["CITES", "CMS"]
    for day in week(40):
        ids["day"].append(day.isoformat())
        for code in ids["code"]:
            closure = {"date": day.isoformat(), "reason": "Staff retreat"}
            path = f"/v1/secretariats/{code}/closures"
            closed = client.post(path, json=closure, headers=keys[code])
            if closed.status_code != 201:
                raise RuntimeError(f"POST {path}: {closed.status_code} {closed.text}")
    roles = 1 + max(len(ops) for ops in ENDING.values())
    for i in range(2 * roles):
        code = f"CITES SC{300 + i}"
        ids["meeting"].append(_made(client, "/v1/meetings", meeting_body(code=code), keys["CITES"]))
        ids["meeting"].append(code)
        ids["activity_id"].append(
            _made(client, "/v1/activities", activity_body(meeting_codes=[code]), keys["CMS"])
        )
        hook = {"url": f"https://{WEBHOOK_HOST}/{i}", "events": ["allocation.accepted"]}
        ids["webhook_id"].append(_made(client, "/v1/webhooks", hook, keys["fuzz"]))
        key = {"name": f"fuzz-spare-{i}", "secretariat": "CMS", "scopes": ["read"]}
        ids["key_id"].append(_made(client, "/v1/api-keys", key, keys["fuzz"]))
    # Made after the matching run (no worker runs while fuzzing), so none is allocated: ending
    # one does not end an allocation that the allocation routes draw.
    ids["request_id"], ids["offer_id"] = _pairs(client, keys, range(12, 12 + 2 * roles))
    return ids


def _pairs(
    client: httpx.Client, keys: dict[str, dict[str, str]], weeks: range
) -> tuple[list[str], list[str]]:
    """A request of CITES and an offer of CMS that matches it, one pair a week."""
    requests, offers = [], []
    for weeks_ahead in weeks:
        days = week(weeks_ahead)
        window = {"start_date": days[0].isoformat(), "end_date": days[-1].isoformat()}
        requests.append(
            _made(client, "/v1/workload-requests", request_body(**window), keys["CITES"])
        )
        offers.append(_made(client, "/v1/capacity-offers", offer_body(**window), keys["CMS"]))
    return requests, offers


def _allocations(
    client: httpx.Client, keys: dict[str, dict[str, str]], env: dict[str, str], log: Path
) -> list[str]:
    """The allocations the real worker proposes for pairs of their own (one matching run)."""
    _pairs(client, keys, range(2, 2 + PAIRS))
    key = keys["fuzz"]
    worker = start_process("services.worker", env, log)
    try:
        queued = client.post("/v1/matching/runs", headers=key)
        if queued.status_code != 202:
            raise RuntimeError(f"POST /v1/matching/runs: {queued.status_code} {queued.text}")
        found: list[str] = []

        def proposed() -> bool:
            page = client.get("/v1/allocations", params={"limit": 100}, headers=key)
            found[:] = [a["id"] for a in page.json()["items"]]
            return len(found) >= PAIRS

        if not wait_for(proposed, timeout=180, interval=1):
            raise RuntimeError(f"{len(found)} allocations proposed: {log.read_text()[-3000:]}")
        return found
    finally:
        stop_process(worker)


def _binding(dictionary: str) -> str:
    return f'{{ dictionary = "{dictionary}", probability = 0.5 }}'


def _config(ids: dict[str, list[str]], path: Path) -> None:
    """schemathesis.toml with a dictionary of real ids for each path parameter: one shared by
    the operations that read and change, one for each operation that ends a life."""
    lines = [(ROOT / "schemathesis.toml").read_text(), "", "[parameters]"]
    sections: list[str] = []
    dictionaries: list[str] = []
    for name, ops in ENDING.items():
        values = ids[name]
        groups = len(ops) + 1
        share = len(values) // groups
        # Meetings are listed by id and code, side by side: keep each pair in one group.
        share -= share % 2 if name == "meeting" else 0
        chunks = [values[k * share : (k + 1) * share] for k in range(groups)]
        for k, chunk in enumerate(chunks):
            dictionaries += [f"[dictionaries.{name}-{k}]", f"values = {json.dumps(chunk)}", ""]
        lines.append(f'"path.{name}" = {_binding(f"{name}-0")}')
        for k, op in enumerate(ops, start=1):
            sections += [
                "[[operations]]",
                f"include-name = {json.dumps(op)}",
                f'parameters = {{ "path.{name}" = {_binding(f"{name}-{k}")} }}',
                "",
            ]
    path.write_text("\n".join([*lines, "", *dictionaries, *sections]))


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
        keys = asyncio.run(_keys(url))
        authorization = keys["fuzz"]["Authorization"]
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
            "WEBHOOK_ALLOWED_HOSTS": WEBHOOK_HOST,
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
        config = servers.tmp / "schemathesis.toml"
        with httpx.Client(base_url=base, timeout=30) as client:
            allocations = _allocations(client, keys, env, servers.tmp / "worker.log")
            ids = {**_objects(client, keys), "allocation_id": allocations}
        _config(ids, config)
        print(f"make fuzz: path ids of real objects in {config}", flush=True)
        command = [
            str(Path(sys.executable).parent / "schemathesis"),
            "--config-file",
            str(config),
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
