"""The worker process: arq settings, startup and shutdown, and one log line per job."""

from __future__ import annotations

import asyncio
import functools
import gc
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar

import httpx
from arq import Retry, cron, func
from arq.connections import RedisSettings
from arq.cron import CronJob
from arq.typing import WorkerCoroutine
from redis.asyncio.retry import Retry as RedisRetry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from services.worker.metrics import WorkerMetrics
from services.worker.tasks import changes, matching, webhooks, workload_requests
from shared.config import get_settings
from shared.db import create_engine, create_session_factory
from shared.logging import configure_logging, request_id_var
from shared.queue import REQUEST_ID_KWARG, cron_name, redis_settings

log = logging.getLogger("tandem.worker")
job_log = logging.getLogger("tandem.worker.job")

Task = Callable[..., Awaitable[Any]]

# Housekeeping that found nothing to do logs at DEBUG: at idle, the crons would otherwise
# write a line every two seconds.
HOUSEKEEPING = frozenset(
    {
        "matching.sweep",
        "changes.sequence",
        "changes.prune",
        "webhooks.sweep",
        "webhooks.prune",
        "workload_requests.expire",
    }
)


def _did_nothing(result: Any) -> bool:
    if isinstance(result, dict):
        return not any(result.values())
    return not result


def observed(task: str, coroutine: Task) -> WorkerCoroutine:
    """`coroutine` as a job: carries the request id that queued it and logs one JSON line
    with the job's id, task, duration and outcome."""

    @functools.wraps(coroutine)
    async def job(ctx: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        token = request_id_var.set(kwargs.pop(REQUEST_ID_KWARG, None))
        started = time.perf_counter()
        outcome, result = "failed", None
        try:
            result = await coroutine(ctx, *args, **kwargs)
            outcome = "ok"
            return result
        except Retry:
            outcome = "retry"
            raise
        except asyncio.CancelledError:
            outcome = "cancelled"
            raise
        finally:
            duration = time.perf_counter() - started
            metrics: WorkerMetrics | None = ctx.get("metrics")
            if metrics is not None:
                metrics.observe_job(task, outcome, duration)
            quiet = outcome == "ok" and task in HOUSEKEEPING and _did_nothing(result)
            job_log.log(
                logging.DEBUG if quiet else logging.INFO if outcome == "ok" else logging.WARNING,
                "job",
                extra={
                    "job_id": ctx.get("job_id"),
                    "task": task,
                    "try": ctx.get("job_try"),
                    "duration_s": round(duration, 4),
                    "outcome": outcome,
                    "result": result,
                },
            )
            request_id_var.reset(token)

    return job


async def startup(ctx: dict[str, Any]) -> None:
    settings = get_settings()
    configure_logging(settings.log_level, "worker")
    engine = create_engine(
        settings.require_database_url(), pool_size=4, application_name="tandem-worker"
    )
    ctx["settings"] = settings
    ctx["engine"] = engine
    ctx["session_factory"] = create_session_factory(engine)
    # One client for webhook deliveries: connection reuse; redirects are never followed.
    ctx["http"] = httpx.AsyncClient(follow_redirects=False, trust_env=False)
    metrics = ctx["metrics"] = WorkerMetrics()
    if settings.worker_metrics_port:
        try:
            ctx["metrics_server"] = metrics.serve(
                settings.worker_metrics_port, settings.worker_metrics_host
            )
        except OSError as exc:  # e.g. a second worker on one host: it runs, unscraped.
            log.warning(
                "metrics port unavailable",
                extra={"port": settings.worker_metrics_port, "error": str(exc)},
            )
    ctx["metrics_refresh"] = asyncio.create_task(metrics.refresh_forever(ctx))
    # Everything loaded so far (modules, models, settings) lives as long as the process: keep
    # it out of the cyclic GC. Full passes over those ~150,000 objects, set off by the rows a
    # matching run reads, added 0.15 to 0.25 s to one realistic rerun in two on a busy
    # 2-core machine (`make bench-matching-runs`).
    gc.freeze()
    log.info(
        "worker started",
        extra={"queue": settings.queue_name, "metrics_port": settings.worker_metrics_port},
    )


async def shutdown(ctx: dict[str, Any]) -> None:
    refresh = ctx.get("metrics_refresh")
    if refresh is not None:
        refresh.cancel()
    server = ctx.get("metrics_server")
    if server is not None:
        server.shutdown()
    http = ctx.get("http")
    if http is not None:
        await http.aclose()
    engine = ctx.get("engine")
    if engine is not None:
        await engine.dispose()
    log.info("worker stopped")


def worker_redis_settings() -> RedisSettings:
    """Redis settings of the worker, from REDIS_URL: every command retries with back-off
    (0.25 s doubling to 10 s) for as long as Redis is away, so the worker rides out an
    outage instead of exiting."""
    settings = redis_settings(get_settings().require_redis_url())
    settings.retry = RedisRetry(ExponentialBackoff(cap=10, base=0.25), retries=-1)
    settings.retry_on_error = [RedisConnectionError, RedisTimeoutError]
    return settings


def cron_jobs(queue_name: str) -> list[CronJob]:
    """The housekeeping schedule, named within the deployment (see shared.queue.cron_name)."""

    def every(task: str, coroutine: Task, **schedule: Any) -> CronJob:
        return cron(observed(task, coroutine), name=cron_name(queue_name, task), **schedule)

    return [
        # The outbox sweep: triggers whose nudge was lost (Redis down) are handled within
        # 15 s, and at once when a worker starts.
        every(
            "matching.sweep",
            matching.kick,
            second={0, 15, 30, 45},
            run_at_startup=True,
            timeout=300,
        ),
        every(
            "workload_requests.expire",
            workload_requests.expire,
            minute={1, 31},
            second=30,
            run_at_startup=True,
            timeout=300,
        ),
        # Feed positions for changes committed since the last read (readers also do this).
        every("changes.sequence", changes.sequence, second=set(range(0, 60, 2)), timeout=60),
        every("changes.prune", changes.prune, minute=17, second=0, timeout=600),
        # Retries and anything a lost Redis job left behind (the schedule is in PostgreSQL).
        every("webhooks.sweep", webhooks.sweep, second=set(range(1, 60, 5)), timeout=600),
        every("webhooks.prune", webhooks.prune, hour=3, minute=41, second=0, timeout=600),
    ]


class WorkerSettings:
    """arq worker configuration (`python -m services.worker` adds the queue's cron jobs)."""

    functions: ClassVar[list[Any]] = [
        func(observed("matching.run", matching.run), name="matching.run", max_tries=3, timeout=300),
        func(
            observed("matching.kick", matching.kick), name="matching.kick", max_tries=3, timeout=300
        ),
        func(
            observed("webhooks.deliver", webhooks.deliver),
            name="webhooks.deliver",
            max_tries=3,
            timeout=600,
        ),
    ]
    on_startup = startup
    on_shutdown = shutdown
    health_check_interval = 30
    max_jobs = 10
    job_timeout = 300
    keep_result = 60
    handle_signals = True
