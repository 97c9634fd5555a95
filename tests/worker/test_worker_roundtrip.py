"""The API enqueues a job; the real worker process runs it against the database."""

from __future__ import annotations

import asyncio
import subprocess

import httpx

from tests.factories import Keys


async def test_matching_run_queued_by_the_api_is_run_by_the_worker(
    client: httpx.AsyncClient, keys: Keys, worker: subprocess.Popen[bytes]
) -> None:
    queued = await client.post("/v1/matching/runs", headers=keys.admin)
    assert queued.status_code == 202
    run = queued.json()
    assert run["status"] == "queued"
    for _ in range(150):
        current = (await client.get(f"/v1/matching/runs/{run['id']}", headers=keys.admin)).json()
        if current["status"] == "succeeded":
            break
        await asyncio.sleep(0.1)
    assert current["status"] == "succeeded"
    assert current["finished_at"] is not None
    assert worker.poll() is None
