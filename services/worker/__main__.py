"""`python -m services.worker`: run the arq worker; `--check` reports its health (exit 0/1)."""

from __future__ import annotations

import asyncio
import sys

from arq import run_worker
from arq.worker import async_check_health

from services.worker.main import WorkerSettings, worker_redis_settings
from shared.config import get_settings
from shared.logging import configure_logging


def main(argv: list[str]) -> int:
    settings = get_settings()
    configure_logging(settings.log_level, "worker")
    if "--check" in argv:
        return asyncio.run(
            async_check_health(worker_redis_settings(), queue_name=settings.queue_name)
        )
    run_worker(
        WorkerSettings,  # type: ignore[arg-type]
        redis_settings=worker_redis_settings(),
        queue_name=settings.queue_name,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
