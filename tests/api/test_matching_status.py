"""GET /v1/matching/status: the last matching run and the triggers still waiting for one."""

from __future__ import annotations

import asyncio
import subprocess

import httpx
import pytest

from tests.factories import Keys
from tests.support.factories import offer_body, post, request_body

pytestmark = pytest.mark.slow


async def _status(client: httpx.AsyncClient, keys: Keys) -> dict[str, object]:
    response = await client.get("/v1/matching/status", headers=keys.cites_read)
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


async def test_pending_triggers_count_up_with_each_change_and_fall_to_zero_after_the_run(
    client: httpx.AsyncClient, keys: Keys, request: pytest.FixtureRequest
) -> None:
    assert await _status(client, keys) == {"last_run": None, "pending_triggers": 0}

    # No worker yet: each change leaves one trigger waiting.
    await post(client, "/v1/capacity-offers", offer_body(), keys.cms)
    assert (await _status(client, keys))["pending_triggers"] == 1
    await post(client, "/v1/workload-requests", request_body(), keys.cites)
    assert await _status(client, keys) == {"last_run": None, "pending_triggers": 2}

    # The worker starts, takes the queued kicks and handles both triggers in a run.
    worker: subprocess.Popen[bytes] = request.getfixturevalue("worker")
    status = await _status(client, keys)
    for _ in range(300):
        run = status["last_run"]
        if isinstance(run, dict) and run["status"] == "succeeded":
            break
        await asyncio.sleep(0.1)
        status = await _status(client, keys)
    run = status["last_run"]
    assert isinstance(run, dict), status
    assert (run["status"], status["pending_triggers"]) == ("succeeded", 0)
    assert run["figures"]["weight_served"] == 16 * 4
    runs = (await client.get("/v1/matching/runs", headers=keys.cites_read)).json()["items"]
    assert run == runs[0]
    assert worker.poll() is None


async def test_the_matching_status_needs_a_key(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/matching/status")
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
