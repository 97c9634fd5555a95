"""`python -m services.worker`: run the arq worker; `--check` reports its health (exit 0/1)."""

from __future__ import annotations

import asyncio
import logging
import sys

from arq import run_worker
from arq.worker import async_check_health
from redis.asyncio import Redis

from services.worker.main import WorkerSettings, cron_jobs, worker_redis_settings
from shared.config import get_settings
from shared.logging import configure_logging
from shared.queue import redis_settings

log = logging.getLogger("tandem.worker")


async def wait_for_redis(url: str) -> None:
    """Return once Redis answers, trying again after 1 s, 2 s, 4 s... up to 30 s."""
    delay = 1.0
    while True:
        client = Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
        try:
            await client.ping()
            return
        except (OSError, ConnectionError, TimeoutError) as exc:
            log.warning("waiting for Redis", extra={"error": type(exc).__name__, "in_s": delay})
        except Exception as exc:
            # redis-py's own connection errors; anything else is not ours to retry.
            if not type(exc).__module__.startswith("redis"):
                raise
            log.warning("waiting for Redis", extra={"error": type(exc).__name__, "in_s": delay})
        finally:
            await client.aclose()
        await asyncio.sleep(delay)
        delay = min(delay * 2, 30.0)


def main(argv: list[str]) -> int:
    settings = get_settings()
    configure_logging(settings.log_level, "worker")
    redis_url = settings.require_redis_url()
    if "--check" in argv:
        # arq reports the worker's figures (jobs complete, failed, queued) at INFO.
        logging.getLogger("arq.worker").setLevel(logging.INFO)
        return asyncio.run(
            async_check_health(redis_settings(redis_url), queue_name=settings.queue_name)
        )
    asyncio.run(wait_for_redis(redis_url))
    run_worker(
        WorkerSettings,  # type: ignore[arg-type]
        redis_settings=worker_redis_settings(),
        queue_name=settings.queue_name,
        cron_jobs=cron_jobs(settings.queue_name),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
