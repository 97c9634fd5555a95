"""The worker process: arq settings, startup and shutdown."""

from __future__ import annotations

import logging
from typing import Any, ClassVar

from arq import cron, func
from arq.connections import RedisSettings

from services.worker.tasks import matching, workload_requests
from shared.config import get_settings
from shared.db import create_engine, create_session_factory
from shared.logging import configure_logging
from shared.queue import redis_settings

log = logging.getLogger("tandem.worker")


async def startup(ctx: dict[str, Any]) -> None:
    settings = get_settings()
    configure_logging(settings.log_level, "worker")
    engine = create_engine(
        settings.require_database_url(), pool_size=4, application_name="tandem-worker"
    )
    ctx["settings"] = settings
    ctx["engine"] = engine
    ctx["session_factory"] = create_session_factory(engine)
    log.info("worker started")


async def shutdown(ctx: dict[str, Any]) -> None:
    engine = ctx.get("engine")
    if engine is not None:
        await engine.dispose()
    log.info("worker stopped")


def worker_redis_settings() -> RedisSettings:
    """Redis settings of the worker, from REDIS_URL."""
    settings = redis_settings(get_settings().require_redis_url())
    settings.conn_retries = 5
    settings.conn_retry_delay = 1
    return settings


class WorkerSettings:
    """arq worker configuration (`arq services.worker.main.WorkerSettings`)."""

    functions: ClassVar[list[Any]] = [
        func(matching.run, name="matching.run", max_tries=3, timeout=300),
        func(matching.kick, name="matching.kick", max_tries=3, timeout=300),
    ]
    cron_jobs: ClassVar[list[Any]] = [
        # The outbox sweep: triggers whose nudge was lost (Redis down) are handled within a
        # minute, and at once when a worker starts.
        cron(
            matching.kick,
            name="matching.sweep",
            second=0,
            run_at_startup=True,
            timeout=300,
        ),
        cron(
            workload_requests.expire,
            name="workload_requests.expire",
            minute={1, 31},
            second=30,
            run_at_startup=True,
            timeout=300,
        ),
    ]
    on_startup = startup
    on_shutdown = shutdown
    health_check_interval = 30
    max_jobs = 10
    job_timeout = 300
    keep_result = 60
    handle_signals = True
