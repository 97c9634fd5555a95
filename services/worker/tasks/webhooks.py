"""Webhook tasks: thin wrappers around shared.webhooks.delivery."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.worker.units import unit_of_work, units_of_work
from shared import queue
from shared.feed.events import DELIVER_TASK
from shared.webhooks import delivery


async def deliver(ctx: dict[str, Any]) -> dict[str, int]:
    """webhooks.deliver: fan out new events and send every delivery that is due."""

    async def nudge(at: datetime) -> None:
        # Wake up when the next retry is due (the sweep would also find it, a little later).
        await queue.defer(ctx["redis"], DELIVER_TASK, at)

    # Many short transactions with the HTTP calls between them: the service opens each
    # through the task's units of work.
    return await delivery.run(
        units_of_work(ctx), ctx["http"], ctx["settings"].allowed_webhook_hosts, nudge
    )


async def sweep(ctx: dict[str, Any]) -> dict[str, int]:
    """webhooks.sweep (cron): the same as deliver, so that nothing waits on a lost job."""
    return await deliver(ctx)


async def prune(ctx: dict[str, Any]) -> int:
    """webhooks.prune (cron): forget old events, deliveries and attempts."""
    async with unit_of_work(ctx) as session:
        return await delivery.prune(session, ctx["settings"].changes_retention_days)
