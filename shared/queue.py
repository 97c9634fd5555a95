"""The only door to arq: jobs carry ids only and go out after the transaction commits.

Durable intent lives in PostgreSQL (the outbox); a job in Redis is only a nudge, so a
lost enqueue (Redis down, process killed) delays work but never loses it. That is why a
write never waits on Redis for long: the jobs of one transaction go out in one pipeline
with a 200 ms deadline, and after a failure a circuit breaker skips Redis for a few seconds
(the worker's sweeps find the outbox rows instead).

Every key is namespaced by the deployment's queue name (`arq:job:<QUEUE_NAME>:<id>`, cron
jobs `<QUEUE_NAME>:<task>`), so deployments can share one Redis database.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
import weakref
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from arq import ArqRedis
from arq.connections import RedisSettings
from arq.constants import expires_extra_ms, job_key_prefix
from arq.jobs import serialize_job
from sqlalchemy.ext.asyncio import AsyncSession

from shared.logging import request_id_var

log = logging.getLogger(__name__)

_PENDING = "tandem_pending_jobs"
# A paused Redis answered nothing for as long as the socket timeout (5 s) allowed: a write's
# jobs get this long, in one round trip, before the write's response goes out without them.
SEND_TIMEOUT_SECONDS = 0.2
# After a failed send, writes skip Redis for this long; the outbox sweeps catch up.
BREAKER_OPEN_SECONDS = 5.0
REQUEST_ID_KWARG = "request_id"


@dataclass(frozen=True, slots=True)
class Job:
    name: str
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class _Breaker:
    open_until: float = 0.0

    def is_open(self) -> bool:
        return time.monotonic() < self.open_until


_breakers: weakref.WeakKeyDictionary[ArqRedis, _Breaker] = weakref.WeakKeyDictionary()


def redis_settings(url: str) -> RedisSettings:
    """arq connection settings for a redis:// or unix:// URL, failing fast when it is down."""
    settings = RedisSettings.from_dsn(url)
    settings.conn_timeout = 2
    settings.conn_retries = 1
    settings.conn_retry_delay = 0
    return settings


def lazy_queue(url: str, queue_name: str) -> ArqRedis:
    """An arq client that connects on first use, so a process can start while Redis is down."""
    client: ArqRedis = ArqRedis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
    client.default_queue_name = queue_name
    return client


def cron_name(queue_name: str, task: str) -> str:
    """A cron job's arq name: arq keys cron runs by name and time alone, so the deployment's
    queue name goes in front (two deployments on one Redis would take each other's runs)."""
    return f"{queue_name}:{task}"


def job_id(queue_name: str) -> str:
    """A new job id within the deployment's namespace."""
    return f"{queue_name}:{uuid.uuid4().hex}"


def enqueue_after_commit(session: AsyncSession, name: str, *args: Any, **kwargs: Any) -> None:
    """Ask for a job to be enqueued once this session's transaction commits."""
    session.info.setdefault(_PENDING, []).append(Job(name, args, kwargs))


def take_pending(session: AsyncSession) -> list[Job]:
    """Remove and return the jobs asked for in this session (after commit or rollback)."""
    jobs: list[Job] = session.info.pop(_PENDING, [])
    return jobs


async def send(queue: ArqRedis | None, jobs: list[Job]) -> bool:
    """Enqueue jobs in one pipeline within 200 ms; a failure is logged, not raised (the
    outbox keeps the intent). Returns whether they went out."""
    if queue is None or not jobs:
        return True
    breaker = _breakers.setdefault(queue, _Breaker())
    if breaker.is_open():
        log.debug("Redis skipped (circuit open)", extra={"jobs": len(jobs)})
        return False
    try:
        await asyncio.wait_for(_push(queue, _unique(jobs)), SEND_TIMEOUT_SECONDS)
    except Exception as exc:  # Redis down or hung: the outbox sweeps pick the work up later.
        breaker.open_until = time.monotonic() + BREAKER_OPEN_SECONDS
        log.warning(
            "enqueue failed; Redis skipped for a while, the outbox sweeps catch up",
            extra={
                "jobs": sorted({job.name for job in jobs}),
                "error": type(exc).__name__,
                "retry_in_s": BREAKER_OPEN_SECONDS,
            },
        )
        return False
    return True


async def defer(queue: ArqRedis, name: str, at: datetime) -> None:
    """Enqueue a job (no arguments) to run at `at`, within the deployment's namespace."""
    kwargs = _with_request_id({})
    await queue.enqueue_job(
        name, _job_id=job_id(queue.default_queue_name), _defer_until=at, **kwargs
    )


def _unique(jobs: list[Job]) -> list[Job]:
    # A batch of writes asks for the same nudge many times; one does the work.
    seen: dict[tuple[str, str], Job] = {}
    for job in jobs:
        seen.setdefault((job.name, repr((job.args, sorted(job.kwargs.items())))), job)
    return list(seen.values())


def _with_request_id(kwargs: dict[str, Any]) -> dict[str, Any]:
    request_id = request_id_var.get()
    return {**kwargs, REQUEST_ID_KWARG: request_id} if request_id else kwargs


async def _push(queue: ArqRedis, jobs: list[Job]) -> None:
    # What arq's enqueue_job writes (the job under its key, its id in the queue's sorted
    # set), for every job at once: ids are fresh, so arq's check for an existing id is moot.
    now_ms = int(time.time() * 1000)
    async with queue.pipeline(transaction=True) as pipe:
        for job in jobs:
            new_id = job_id(queue.default_queue_name)
            payload = serialize_job(
                job.name,
                job.args,
                _with_request_id(job.kwargs),
                None,
                now_ms,
                serializer=queue.job_serializer,
            )
            pipe.psetex(job_key_prefix + new_id, expires_extra_ms, payload)
            pipe.zadd(queue.default_queue_name, {new_id: now_ms})
        await pipe.execute()
