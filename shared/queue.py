"""The only door to arq: jobs carry ids only and go out after the transaction commits.

Durable intent lives in PostgreSQL (the outbox); a job in Redis is only a nudge, so a
lost enqueue (Redis down, process killed) delays work but never loses it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from arq import ArqRedis
from arq.connections import RedisSettings
from sqlalchemy.ext.asyncio import AsyncSession

log = logging.getLogger(__name__)

_PENDING = "tandem_pending_jobs"


@dataclass(frozen=True, slots=True)
class Job:
    name: str
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)


def redis_settings(url: str) -> RedisSettings:
    """arq connection settings for a redis:// or unix:// URL, failing fast when it is down."""
    settings = RedisSettings.from_dsn(url)
    settings.conn_timeout = 2
    settings.conn_retries = 1
    settings.conn_retry_delay = 0
    return settings


def lazy_queue(url: str, queue_name: str) -> ArqRedis:
    """An arq client that connects on first use, so a process can start while Redis is down."""
    client: ArqRedis = ArqRedis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
    client.default_queue_name = queue_name
    return client


def enqueue_after_commit(session: AsyncSession, name: str, *args: Any, **kwargs: Any) -> None:
    """Ask for a job to be enqueued once this session's transaction commits."""
    session.info.setdefault(_PENDING, []).append(Job(name, args, kwargs))


def take_pending(session: AsyncSession) -> list[Job]:
    """Remove and return the jobs asked for in this session (after commit or rollback)."""
    jobs: list[Job] = session.info.pop(_PENDING, [])
    return jobs


async def send_at(queue: ArqRedis | None, name: str, at: datetime) -> None:
    """Enqueue a wake-up for `name` at `at` (the work itself is in PostgreSQL already)."""
    await send(queue, [Job(name, (), {"_defer_until": at})])


async def send(queue: ArqRedis | None, jobs: list[Job]) -> None:
    """Enqueue jobs; a failure is logged, not raised: the outbox keeps the intent."""
    if queue is None:
        return
    for job in jobs:
        try:
            await queue.enqueue_job(job.name, *job.args, **job.kwargs)
        except Exception as exc:  # Redis down: the outbox sweep picks the work up later.
            log.warning("enqueue failed", extra={"job": job.name, "error": repr(exc)})
