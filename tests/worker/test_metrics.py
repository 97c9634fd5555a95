"""The worker's Prometheus metrics, scraped from its own port as Prometheus would."""

from __future__ import annotations

import asyncio
from pathlib import Path

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


async def test_worker_serves_job_matching_backlog_and_process_metrics(
    client: httpx.AsyncClient, keys: Keys, process_env: dict[str, str], tmp_path: Path
) -> None:
    port = free_port()
    log = tmp_path / "worker.log"
    worker = start_process(
        "services.worker", {**process_env, "WORKER_METRICS_PORT": str(port)}, log
    )
    try:
        await post(client, "/v1/capacity-offers", offer_body(), keys.cms)
        await post(client, "/v1/workload-requests", request_body(), keys.cites)
        text = ""
        async with httpx.AsyncClient() as scraper:
            for _ in range(180):
                try:
                    text = (await scraper.get(f"http://127.0.0.1:{port}/metrics")).text
                except httpx.HTTPError:
                    text = ""
                if 'tandem_matching_runs_total{status="succeeded"}' in text and (
                    'task="changes.sequence"' in text
                ):
                    break
                await asyncio.sleep(0.5)
        missing = [series for series in SERIES if series not in text]
        assert not missing, (missing, log.read_text()[-2000:])
        assert 'tandem_matching_proposals_total{change="added"} 1.0' in text
        assert 'tandem_matching_phase_duration_seconds_count{phase="solve"}' in text
    finally:
        stop_process(worker)
