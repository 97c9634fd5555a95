"""The database's migration revision, and the backlogs the worker exports as metrics."""

from __future__ import annotations

from sqlalchemy import column, select, table, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

_ALEMBIC_VERSION = table("alembic_version", column("version_num"))


async def migration_revision(engine: AsyncEngine) -> str | None:
    """The revision Alembic last applied (raises when the database is unreachable)."""
    async with engine.connect() as connection:
        revision: str | None = await connection.scalar(select(_ALEMBIC_VERSION.c.version_num))
    return revision


# Backlogs the worker exports as metrics: each subquery runs on a partial index (pending
# triggers, unnumbered changes, pending deliveries) or a small table.
_BACKLOGS = text(
    """
    SELECT
      (SELECT count(*) FROM matching_trigger WHERE run_id IS NULL) AS triggers_pending,
      (SELECT extract(epoch FROM now() - min(created_at)) FROM matching_trigger
        WHERE run_id IS NULL) AS trigger_oldest_age,
      (SELECT count(*) FROM change WHERE seq IS NULL) AS changes_unsequenced,
      (SELECT extract(epoch FROM now() - min(at)) FROM change WHERE seq IS NULL)
        AS change_unsequenced_oldest_age,
      (SELECT extract(epoch FROM now() - min(at)) FROM change) AS change_oldest_age,
      (SELECT count(*) FROM webhook_delivery WHERE status = 'pending') AS deliveries_pending,
      (SELECT extract(epoch FROM now() - min(created_at)) FROM webhook_delivery
        WHERE status = 'pending') AS delivery_oldest_age,
      (SELECT count(*) FROM event WHERE dispatched_at IS NULL) AS events_undispatched,
      (SELECT count(*) FROM webhook_subscription WHERE NOT enabled) AS subscriptions_disabled
    """
)
_DELIVERIES = text("SELECT status, count(*) FROM webhook_delivery GROUP BY status")
_ATTEMPTS = text(
    "SELECT outcome, least(attempt, 10) AS attempt, count(*) FROM webhook_attempt GROUP BY 1, 2"
)


async def backlogs(session: AsyncSession) -> dict[str, float]:
    """Pending work and its age (seconds; 0 when there is none), for the worker's metrics."""
    row = (await session.execute(_BACKLOGS)).mappings().one()
    return {name: float(value or 0) for name, value in row.items()}


async def webhook_figures(
    session: AsyncSession,
) -> tuple[dict[str, int], dict[tuple[str, int], int]]:
    """Deliveries kept, by status; attempts kept, by outcome and attempt number (10: 10+)."""
    deliveries: dict[str, int] = {}
    for status, count in (await session.execute(_DELIVERIES)).all():
        deliveries[status] = count
    attempts = {(outcome, a): n for outcome, a, n in (await session.execute(_ATTEMPTS)).all()}
    return deliveries, attempts
