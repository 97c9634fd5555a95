"""Handling matching triggers until the engine lands: each sweep takes every trigger not
handled yet and records one run for them (the engine issue replaces the body of `sweep`)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shared.models import MatchingRun, MatchingTrigger


def summary(reasons: list[str], limit: int = 200) -> str:
    """The reasons of a run's triggers, shortened to fit the run's `trigger` field."""
    text = "; ".join(dict.fromkeys(reasons))
    if len(text) <= limit:
        return text
    suffix = f" (+{len(reasons)} triggers)"
    return text[: limit - len(suffix) - 1] + "…" + suffix


async def sweep(session: AsyncSession) -> MatchingRun | None:
    """Take every unhandled trigger (skipping those another worker holds), record one run
    for them and mark them handled by it; None when there was nothing to do."""
    triggers = list(
        await session.scalars(
            select(MatchingTrigger)
            .where(MatchingTrigger.run_id.is_(None))
            .order_by(MatchingTrigger.id)
            .with_for_update(skip_locked=True)
        )
    )
    if not triggers:
        return None
    now = datetime.now(UTC)
    run = MatchingRun(
        trigger=summary([t.reason for t in triggers]),
        status="succeeded",
        started_at=now,
        finished_at=now,
        figures={"triggers": len(triggers)},
    )
    session.add(run)
    await session.flush()
    await session.execute(
        update(MatchingTrigger)
        .where(MatchingTrigger.id.in_([t.id for t in triggers]))
        .values(run_id=run.id, handled_at=now)
    )
    return run
