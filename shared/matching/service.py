"""Matching runs: queue one, carry one out, record its figures, preview one.

A run is one transaction per attempt. It first takes a transaction-level advisory lock (so
runs are serialised across every worker process and machine, and the lock can never linger
on a pooled connection), claims the pending triggers, reads the snapshot, solves in a
thread, and writes the proposals with `apply_proposals`, which locks what it touches and
re-checks the whole set against the data as it is then. When that check fails (an offer
withdrawn or an allocation accepted while the engine computed) or PostgreSQL reports a
serialization failure or deadlock, the attempt rolls back and the run tries again from a
fresh snapshot; after `MAX_ATTEMPTS` the run is recorded as failed and its triggers stay
pending for the next run. A worker killed mid-run leaves nothing of the attempt: its
triggers are still pending, and the sweep marks its run failed once the job timeout passed.

A run is several transactions (mark running, each attempt, record the failure after a
rollback), so `execute_run` and `kick` take a unit-of-work factory (`shared.db.UnitOfWork`)
from the worker's task instead of a session: the retry loop and the lock order stay here with
the rules they serve, while the task decides what a unit of work is and what its commit does.
The worker's units send the jobs asked for in a transaction (a webhook delivery for the
proposals' events) once it has committed, and drop them on rollback. Nothing here commits.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from shared import queue
from shared.config import get_settings
from shared.db import UnitOfWork
from shared.errors import NotFound
from shared.matching import engine, repository
from shared.matching.kick import summary
from shared.matching.snapshot import load_problem
from shared.models import MatchingRun
from shared.pagination import decode_cursor, split_page
from shared.support.allocations.proposals import ProposalsRejected, apply_proposals

log = logging.getLogger("tandem.matching")

RUN_TASK = "matching.run"
# Key of the transaction-level advisory lock that serialises runs ("TANDEMMR" in ASCII).
RUN_LOCK_KEY: Final = 0x54414E44454D4D52
# Held by the one kick that waits for the run lock.
WAITER_LOCK_KEY: Final = RUN_LOCK_KEY + 1
MAX_ATTEMPTS: Final = 5
# How often a run waiting for the lock tries again (it holds no connection meanwhile).
LOCK_POLL_SECONDS: Final = 0.1
# A run still `running` after this long lost its worker (arq's job timeout is 300 s).
STUCK_AFTER: Final = timedelta(seconds=330)
# A run still `queued` after this long lost its job; the sweep carries it out.
QUEUED_LOST_AFTER: Final = timedelta(seconds=60)
_RETRY_SQLSTATES: Final = frozenset({"40001", "40P01"})


async def queue_run(session: AsyncSession, trigger: str) -> MatchingRun:
    """Record a queued run and ask the worker to take it after commit."""
    run = MatchingRun(trigger=trigger, status="queued")
    await repository.add_run(session, run, refresh=True)
    queue.enqueue_after_commit(session, RUN_TASK, str(run.id))
    return run


async def record_run(session: AsyncSession, trigger: str) -> MatchingRun:
    """Record a run whose proposals are written by the caller (the demo set's examples)."""
    run = MatchingRun(trigger=trigger, status="succeeded")
    await repository.add_run(session, run)
    return run


async def get_run(session: AsyncSession, run_id: uuid.UUID) -> MatchingRun:
    """One run, or NotFound."""
    run = await repository.get_run(session, run_id)
    if run is None:
        raise NotFound(f"No matching run {run_id}.")
    return run


async def list_runs(
    session: AsyncSession, *, limit: int, cursor: str | None
) -> tuple[list[MatchingRun], str | None]:
    """Runs, newest first, one page."""
    before = decode_cursor(cursor, (datetime, uuid.UUID)) if cursor else None
    rows = await repository.runs_before(session, before, limit + 1)
    return split_page(rows, limit, lambda r: (r.created_at.isoformat(), str(r.id)))


async def status(session: AsyncSession) -> tuple[MatchingRun | None, int]:
    """The newest run (whatever its status), and how many triggers wait for a run."""
    newest = await repository.runs_before(session, None, 1)
    return (newest[0] if newest else None), await repository.pending_triggers(session)


def _retryable(exc: BaseException) -> bool:
    if isinstance(exc, ProposalsRejected):
        return True
    if isinstance(exc, DBAPIError):
        code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
        return code in _RETRY_SQLSTATES
    return False


async def _take_lock(session: AsyncSession, on_locked: Callable[[], Awaitable[None]]) -> None:
    """Wait for the run lock in `session`'s transaction, releasing the connection between
    tries so waiting runs never exhaust the pool; then call `on_locked`."""
    while not await repository.try_lock(session, RUN_LOCK_KEY):
        await session.rollback()
        await asyncio.sleep(LOCK_POLL_SECONDS)
    await on_locked()


async def _nothing() -> None:
    return None


def _figures(result: engine.Result, diff: Any, triggers: int, attempt: int) -> dict[str, Any]:
    return {
        "requests_considered": result.requests_considered,
        "offers_considered": result.offers_considered,
        "eligible_pairs": result.eligible_pairs,
        "weight_served": result.weight_served,
        "hours_proposed": result.hours_proposed,
        "travel_hours": result.travel_hours,
        "churn_hours": result.churn_hours,
        "kept_hours": result.kept_hours,
        "solve_seconds": round(result.solve_seconds, 6),
        "graph_nodes": result.graph_nodes,
        "graph_arcs": result.graph_arcs,
        "proposals_added": len(diff.added),
        "proposals_changed": len(diff.changed),
        "proposals_dropped": len(diff.dropped),
        "proposals_kept": len(diff.kept),
        "triggers": triggers,
        "attempts": attempt,
    }


async def _attempt(
    units: UnitOfWork,
    run_id: uuid.UUID | None,
    attempt: int,
    on_locked: Callable[[], Awaitable[None]] = _nothing,
) -> MatchingRun | None:
    """One transaction: lock, claim triggers, snapshot, solve, write, record. Without
    `run_id` (a kick) the run is recorded here, and only if a trigger is pending."""
    settings = get_settings()
    async with units() as session:
        await _take_lock(session, on_locked)
        started = datetime.now(UTC)
        began = time.perf_counter()
        triggers = await repository.claim_pending_triggers(session)
        if run_id is None:
            if not triggers:
                # Another run took them while this one waited for the lock.
                return None
            run = MatchingRun(trigger=summary([t.reason for t in triggers]), status="running")
            await repository.add_run(session, run)
        else:
            found = await repository.get_run(session, run_id, lock=True, reload=True)
            if found is None or found.status in {"succeeded", "failed"}:
                return found
            run = found
        problem = await load_problem(session, settings.working_weekdays)
        read_seconds = time.perf_counter() - began
        result = await asyncio.to_thread(engine.solve, problem)
        if settings.matching_test_delay_seconds:
            await asyncio.sleep(settings.matching_test_delay_seconds)
        written = time.perf_counter()
        diff = await apply_proposals(
            session,
            run.id,
            result.allocations,
            working_weekdays=settings.working_weekdays,
            days_off=problem.days_off,
        )
        now = datetime.now(UTC)
        if triggers:
            await repository.mark_handled(session, [t.id for t in triggers], run.id, now)
        run.figures = _figures(result, diff, len(triggers), attempt) | {
            "read_seconds": round(read_seconds, 6),
            "write_seconds": round(time.perf_counter() - written, 6),
        }
        run.status = "succeeded"
        run.started_at = started
        run.finished_at = now
        run.error = None
        await session.flush()
        return run


async def _carry_out(
    units: UnitOfWork,
    run_id: uuid.UUID | None,
    on_locked: Callable[[], Awaitable[None]] = _nothing,
) -> MatchingRun | None:
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            return await _attempt(units, run_id, attempt, on_locked if attempt == 1 else _nothing)
        except Exception as exc:
            # The run's error is read by every read key: a sentence for people, never the
            # exception's text (it may quote rows or statements). The log names the type.
            if not _retryable(exc):
                log.warning(
                    "matching run failed",
                    extra={"run_id": str(run_id), "error_type": type(exc).__name__},
                )
                await _fail(units, run_id, "The run failed on an unexpected error; it is logged.")
                raise
            log.info(
                "matching run attempt rolled back",
                extra={"run_id": str(run_id), "attempt": attempt, "error_type": type(exc).__name__},
            )
    return await _fail(
        units,
        run_id,
        f"The run gave up after {MAX_ATTEMPTS} attempts: other writers kept changing the same"
        " requests and offers. It runs again on the next change.",
    )


async def _fail(units: UnitOfWork, run_id: uuid.UUID | None, error: str) -> MatchingRun | None:
    """Record the run as failed (a kick's run is recorded now); its triggers stay pending."""
    now = datetime.now(UTC)
    async with units() as session:
        if run_id is None:
            run = MatchingRun(trigger="triggers", started_at=now)
            await repository.add_run(session, run)
        else:
            found = await repository.get_run(session, run_id, lock=True)
            if found is None:
                return None
            run = found
        run.status = "failed"
        run.error = error[:2000]
        run.finished_at = now
        await session.flush()
        return run


async def execute_run(units: UnitOfWork, run_id: uuid.UUID) -> MatchingRun | None:
    """Carry out a queued run, each transaction in a unit of work from `units` (idempotent:
    a run already started or finished is left alone)."""
    async with units() as session:
        run = await repository.claim_run(session, run_id)
        if run is None or run.status != "queued":
            return run
        run.status = "running"
        run.started_at = datetime.now(UTC)
    return await _carry_out(units, run_id)


async def kick(units: UnitOfWork) -> MatchingRun | None:
    """Run matching if any trigger is pending (every trigger pending when the run takes the
    lock coalesces into it), each transaction in a unit of work from `units`; None when there
    was nothing to do. Also the sweep's work: runs whose worker died are recorded as failed,
    queued runs whose job was lost are run."""
    async with units() as session:
        await fail_stuck_runs(session)
        # Runs queued through the API whose job was lost (Redis down when it was sent).
        stale = await repository.queued_before(session, datetime.now(UTC) - QUEUED_LOST_AFTER)
    for run_id in stale:
        await execute_run(units, run_id)
    async with units() as session:
        pending = await repository.pending_triggers(session)
    if not pending:
        return None
    # One kick waits for the run lock, the others leave at once: the waiter releases the
    # waiter lock only once it holds the run lock and before it claims triggers, so every
    # trigger committed before a kick saw the waiter lock taken is claimed by that waiter.
    # (This keeps a burst of kicks from filling the worker's job slots while a run computes.)
    # The waiter's transaction writes nothing: ending it, early or at the end of the block,
    # only lets go of the lock.
    async with units() as waiter:
        if not await repository.try_lock(waiter, WAITER_LOCK_KEY):
            return None

        async def release() -> None:
            await waiter.rollback()

        return await _carry_out(units, None, release)


async def fail_stuck_runs(session: AsyncSession) -> int:
    """Mark runs `running` for longer than the job timeout as failed (their worker died)."""
    now = datetime.now(UTC)
    return await repository.fail_running_since(
        session, now - STUCK_AFTER, now, "the worker stopped during the run"
    )


# --------------------------------------------------------------------------- preview


@dataclass(frozen=True, slots=True)
class PreviewChange:
    """One proposal a run would add, change or drop now."""

    request_id: uuid.UUID
    offer_id: uuid.UUID
    hours: int
    previous_hours: int
    days: list[tuple[date, int]]


@dataclass(slots=True)
class Preview:
    """What a run would change in the proposals in force, and its figures."""

    added: list[PreviewChange]
    changed: list[PreviewChange]
    dropped: list[PreviewChange]
    unchanged: int
    figures: dict[str, Any]


def _diff(
    previous: dict[tuple[Any, Any], dict[date, int]], allocations: Sequence[engine.Allocation]
) -> tuple[list[PreviewChange], list[PreviewChange], list[PreviewChange], int]:
    added: list[PreviewChange] = []
    changed: list[PreviewChange] = []
    unchanged = 0
    seen: set[tuple[uuid.UUID, uuid.UUID]] = set()
    for a in allocations:
        pair = (uuid.UUID(str(a.request_id)), uuid.UUID(str(a.offer_id)))
        seen.add(pair)
        before = previous.get(pair)
        change = PreviewChange(
            pair[0], pair[1], a.hours, sum(before.values()) if before else 0, list(a.days)
        )
        if before is None:
            added.append(change)
        elif sorted(before.items()) != sorted(a.days):
            changed.append(change)
        else:
            unchanged += 1
    dropped = [
        PreviewChange(r, o, 0, sum(days.values()), [])
        for (r, o), days in sorted(previous.items(), key=lambda kv: (str(kv[0][0]), str(kv[0][1])))
        if (r, o) not in seen
    ]
    return added, changed, dropped, unchanged


async def preview(session: AsyncSession) -> Preview:
    """Compute what a run would do now, against the proposals in force; writes nothing."""
    problem = await load_problem(session, get_settings().working_weekdays)
    result = await asyncio.to_thread(engine.solve, problem)
    added, changed, dropped, unchanged = _diff(dict(problem.previous), result.allocations)  # type: ignore[arg-type]
    figures = {
        "requests_considered": result.requests_considered,
        "offers_considered": result.offers_considered,
        "eligible_pairs": result.eligible_pairs,
        "weight_served": result.weight_served,
        "hours_proposed": result.hours_proposed,
        "travel_hours": result.travel_hours,
        "churn_hours": result.churn_hours,
        "solve_seconds": round(result.solve_seconds, 6),
    }
    return Preview(added, changed, dropped, unchanged, figures)
