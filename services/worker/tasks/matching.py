"""Matching tasks: thin wrappers around shared.matching.service.

A run is several transactions (attempts retried after a serialization failure, the failure
recorded after a rollback), so the task hands the service its units of work rather than one
session; each commits and then sends the jobs asked for in it (services/worker/units.py).
"""

from __future__ import annotations

import uuid
from typing import Any

from services.worker.units import units_of_work
from shared.matching import service
from shared.models import MatchingRun


def _observe(ctx: dict[str, Any], run: MatchingRun | None) -> None:
    metrics = ctx.get("metrics")
    if run is not None and metrics is not None:
        metrics.observe_run(run.status, run.figures or {})


async def run(ctx: dict[str, Any], run_id: str) -> str | None:
    """matching.run: carry out one queued matching run."""
    result = await service.execute_run(units_of_work(ctx), uuid.UUID(run_id))
    _observe(ctx, result)
    return result.status if result else None


async def kick(ctx: dict[str, Any]) -> str | None:
    """matching.kick: run matching if any trigger is pending (also the sweep, every 15 s)."""
    result = await service.kick(units_of_work(ctx))
    _observe(ctx, result)
    return str(result.id) if result else None
