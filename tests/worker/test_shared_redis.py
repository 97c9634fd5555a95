"""Two deployments on one Redis database: each runs its own cron jobs, every time."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from pathlib import Path

import pytest

from tests.servers import start_process, stop_process, wait_for

pytestmark = pytest.mark.slow

WINDOW_SECONDS = 20
EVERY_SECONDS = 2  # changes.sequence runs at every even second


def _sequence_runs(log: Path) -> list[datetime]:
    """When each changes.sequence job of this worker's log finished."""
    runs = []
    for line in log.read_text().splitlines():
        if not line.startswith("{"):
            continue
        entry = json.loads(line)
        if entry.get("msg") == "job" and entry.get("task") == "changes.sequence":
            runs.append(datetime.fromisoformat(entry["ts"]))
    return runs


def test_two_deployments_on_one_redis_each_run_every_cron_job(
    process_env: dict[str, str], tmp_path: Path
) -> None:
    logs = {name: tmp_path / f"{name}.log" for name in ("north", "south")}
    workers = {
        name: start_process(
            "services.worker",
            {
                **process_env,
                "QUEUE_NAME": f"tandem-{name}-{uuid.uuid4().hex[:8]}",
                "LOG_LEVEL": "DEBUG",
                "WORKER_METRICS_PORT": "0",
            },
            log,
        )
        for name, log in logs.items()
    }
    try:
        assert wait_for(lambda: all(_sequence_runs(log) for log in logs.values()), timeout=90), {
            name: log.read_text()[-3000:] for name, log in logs.items()
        }
        start = max(_sequence_runs(log)[0] for log in logs.values())
        assert wait_for(
            lambda: all(
                (_sequence_runs(log)[-1] - start).total_seconds() > WINDOW_SECONDS + 1
                for log in logs.values()
            ),
            timeout=WINDOW_SECONDS + 60,
        )
    finally:
        for worker in workers.values():
            stop_process(worker)
    expected = WINDOW_SECONDS // EVERY_SECONDS
    for name, log in logs.items():
        runs = [t for t in _sequence_runs(log) if 0 < (t - start).total_seconds() <= WINDOW_SECONDS]
        # Sharing arq's global cron ids, the two together ran it about `expected` times.
        assert expected - 2 <= len(runs) <= expected + 1, (name, len(runs))
