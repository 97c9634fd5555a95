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


def test_worker_health_check_reports_a_running_worker(
    worker: subprocess.Popen[bytes], process_env: dict[str, str]
) -> None:
    import sys
    import time

    deadline = time.monotonic() + 30
    while True:
        check = subprocess.run(
            [sys.executable, "-m", "services.worker", "--check"],
            env=process_env,
            capture_output=True,
            text=True,
            timeout=30,
        )
        if check.returncode == 0 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "j_complete" in check.stdout + check.stderr
