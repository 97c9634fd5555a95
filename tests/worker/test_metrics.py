"""The worker's Prometheus metrics, scraped from its own port as Prometheus would, and its
JSON log lines."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.embedded import free_port
from tests.factories import Keys
from tests.servers import start_process, stop_process
from tests.support.factories import offer_body, post, request_body

pytestmark = pytest.mark.slow

SERIES = (
    "tandem_worker_jobs_total",
    "tandem_worker_job_duration_seconds_bucket",
    "tandem_queue_depth",
    "tandem_queue_oldest_job_age_seconds",
    "tandem_matching_runs_total",
    "tandem_matching_phase_duration_seconds_bucket",
    "tandem_matching_weight_served",
    "tandem_matching_proposals_total",
    "tandem_triggers_pending",
    "tandem_trigger_oldest_age",
    "tandem_deliveries_pending",
    "tandem_delivery_oldest_age",
    "tandem_subscriptions_disabled",
    "tandem_changes_unsequenced",
    "tandem_change_unsequenced_oldest_age",
    "tandem_changes_retention_seconds",
    "process_resident_memory_bytes",
    "process_open_fds",
    "python_info",
)


def _jobs(log: Path) -> list[dict[str, Any]]:
    """The worker's one-line-per-job log entries (a line still being written is skipped)."""
    jobs = []
    for line in log.read_text().splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and entry.get("msg") == "job":
            jobs.append(entry)
    return jobs


async def test_worker_serves_metrics_and_logs_each_job_with_the_request_that_queued_it(
    client: httpx.AsyncClient, keys: Keys, process_env: dict[str, str], tmp_path: Path
) -> None:
    port = free_port()
    log = tmp_path / "worker.log"
    worker = start_process(
        "services.worker", {**process_env, "WORKER_METRICS_PORT": str(port)}, log
    )
    try:
        await post(client, "/v1/capacity-offers", offer_body(), keys.cms)
        made = await client.post(
            "/v1/workload-requests",
            json=request_body(),
            headers={**keys.cites, "X-Request-ID": "sync-run-7"},
        )
        assert made.status_code == 201, made.text
        text = ""
        async with httpx.AsyncClient() as scraper:
            for _ in range(180):
                try:
                    text = (await scraper.get(f"http://127.0.0.1:{port}/metrics")).text
                except httpx.HTTPError:
                    text = ""
                # The run may take the request's trigger before the request's own job comes
                # up: wait for that job's line too.
                if (
                    'tandem_matching_runs_total{status="succeeded"}' in text
                    and 'task="changes.sequence"' in text
                    and any(j.get("request_id") == "sync-run-7" for j in _jobs(log))
                ):
                    break
                await asyncio.sleep(0.5)
        missing = [series for series in SERIES if series not in text]
        assert not missing, (missing, log.read_text()[-2000:])
        assert 'tandem_matching_proposals_total{change="added"} 1.0' in text
        assert 'tandem_matching_phase_duration_seconds_count{phase="solve"}' in text
    finally:
        stop_process(worker)
    jobs = _jobs(log)
    queued = [j for j in jobs if j.get("request_id") == "sync-run-7"]
    assert queued, jobs
    assert {"job_id", "task", "duration_s", "outcome"} <= set(queued[0])
    assert queued[0]["task"] == "matching.kick" and queued[0]["outcome"] == "ok"
    # At INFO, housekeeping that found nothing to do is not logged.
    assert all(j["result"] for j in jobs if j["task"] == "changes.sequence"), jobs
