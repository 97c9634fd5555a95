"""The worker's Prometheus metrics, served on WORKER_METRICS_PORT: jobs, the queue, matching
runs, webhook deliveries, the change-feed sequencer, and the process itself."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from services.worker.units import unit_of_work
from shared.health import service as health
from shared.metrics import add_process_collectors

log = logging.getLogger("tandem.worker.metrics")

# Jobs run from milliseconds (a nudge) to minutes (a matching run on a large instance).
JOB_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)
PHASE_BUCKETS = (0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
REFRESH_SECONDS = 10.0


class WorkerMetrics:
    """The collectors of one worker process (own registry, so tests can make many)."""

    def __init__(self) -> None:
        self.registry = registry = CollectorRegistry()
        add_process_collectors(registry)
        self.jobs = Counter(
            "tandem_worker_jobs",
            "Jobs run, by task and outcome",
            ["task", "outcome"],
            registry=registry,
        )
        self.job_duration = Histogram(
            "tandem_worker_job_duration_seconds",
            "Job duration by task",
            ["task"],
            buckets=JOB_BUCKETS,
            registry=registry,
        )
        self.queue_depth = Gauge(
            "tandem_queue_depth", "Jobs in the queue (due now or deferred)", registry=registry
        )
        self.queue_oldest = Gauge(
            "tandem_queue_oldest_job_age_seconds",
            "How long the oldest due job has waited (0: none waiting)",
            registry=registry,
        )
        self.runs = Counter(
            "tandem_matching_runs",
            "Matching runs finished, by status",
            ["status"],
            registry=registry,
        )
        self.phase = Histogram(
            "tandem_matching_phase_duration_seconds",
            "Matching run phases (read, solve, write)",
            ["phase"],
            buckets=PHASE_BUCKETS,
            registry=registry,
        )
        self.weight_served = Gauge(
            "tandem_matching_weight_served",
            "Weight served by the last matching run",
            registry=registry,
        )
        self.proposals = Counter(
            "tandem_matching_proposals",
            "Proposals added, changed or dropped by runs",
            ["change"],
            registry=registry,
        )
        self.gauges = {
            name: Gauge(f"tandem_{name}", help_text, registry=registry)
            for name, help_text in (
                ("triggers_pending", "Matching triggers not yet handled by a run"),
                ("trigger_oldest_age", "Age of the oldest pending matching trigger, seconds"),
                ("changes_unsequenced", "Changes committed but not yet numbered (sequencer lag)"),
                ("change_unsequenced_oldest_age", "Age of the oldest unnumbered change, seconds"),
                ("change_oldest_age", "Age of the oldest change kept in the feed, seconds"),
                ("deliveries_pending", "Webhook deliveries waiting to be sent (backlog)"),
                ("delivery_oldest_age", "Age of the oldest pending webhook delivery, seconds"),
                ("events_undispatched", "Events not yet fanned out to subscriptions"),
                ("subscriptions_disabled", "Webhook subscriptions disabled after failures"),
            )
        }
        self.retention = Gauge(
            "tandem_changes_retention_seconds",
            "CHANGES_RETENTION_DAYS, in seconds",
            registry=registry,
        )
        self.deliveries = Gauge(
            "tandem_webhook_deliveries",
            "Webhook deliveries kept, by status",
            ["status"],
            registry=registry,
        )
        self.attempts = Gauge(
            "tandem_webhook_attempts",
            "Webhook delivery attempts kept, by outcome and attempt number (10: 10 or more)",
            ["outcome", "attempt"],
            registry=registry,
        )

    def observe_job(self, task: str, outcome: str, seconds: float) -> None:
        self.jobs.labels(task, outcome).inc()
        self.job_duration.labels(task).observe(seconds)

    def observe_run(self, status: str, figures: dict[str, Any]) -> None:
        """Figures of a finished matching run (as in /v1/matching/runs)."""
        self.runs.labels(status).inc()
        if status != "succeeded":
            return
        for phase in ("read", "solve", "write"):
            seconds = figures.get(f"{phase}_seconds")
            if seconds is not None:
                self.phase.labels(phase).observe(seconds)
        if figures.get("weight_served") is not None:
            self.weight_served.set(figures["weight_served"])
        for change in ("added", "changed", "dropped"):
            self.proposals.labels(change).inc(figures.get(f"proposals_{change}", 0))

    async def refresh(self, ctx: dict[str, Any]) -> None:
        """Read the queue from Redis and the backlogs from PostgreSQL into the gauges."""
        redis = ctx["redis"]
        queue_name = ctx["settings"].queue_name
        now_ms = time.time() * 1000
        self.queue_depth.set(await redis.zcard(queue_name))
        due = await redis.zrangebyscore(queue_name, "-inf", now_ms, start=0, num=1, withscores=True)
        self.queue_oldest.set(max(0.0, (now_ms - due[0][1]) / 1000) if due else 0.0)
        async with unit_of_work(ctx) as session:
            backlogs = await health.backlogs(session)
            deliveries, attempts = await health.webhook_figures(session)
        for name, value in backlogs.items():
            self.gauges[name].set(value)
        self.retention.set(ctx["settings"].changes_retention_days * 86400)
        self.deliveries.clear()
        for status, count in deliveries.items():
            self.deliveries.labels(status).set(count)
        self.attempts.clear()
        for (outcome, attempt), count in attempts.items():
            self.attempts.labels(outcome, str(attempt)).set(count)

    async def refresh_forever(self, ctx: dict[str, Any]) -> None:
        """Refresh every 10 s until cancelled; a failure is logged and tried again."""
        while True:
            try:
                await self.refresh(ctx)
            except Exception as exc:  # Redis or PostgreSQL away: the gauges keep their values.
                log.warning("metrics refresh failed", extra={"error": type(exc).__name__})
            await asyncio.sleep(REFRESH_SECONDS)

    def serve(self, port: int, host: str) -> Any:
        """Serve /metrics on `host:port` from a thread; the server, to shut it down."""
        server, _thread = start_http_server(port, addr=host, registry=self.registry)
        return server
