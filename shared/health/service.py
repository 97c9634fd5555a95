"""What operators watch: the schema's revision, pending work and webhook figures."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from shared.health import repository


async def migration_revision(engine: AsyncEngine) -> str | None:
    """The revision the database is migrated to, or None before the first migration."""
    return await repository.migration_revision(engine)


async def backlogs(session: AsyncSession) -> dict[str, float]:
    """Pending work and its age (seconds; 0 when there is none), for the worker's metrics."""
    return await repository.backlogs(session)


async def webhook_figures(
    session: AsyncSession,
) -> tuple[dict[str, int], dict[tuple[str, int], int]]:
    """Deliveries kept, by status; attempts kept, by outcome and attempt number (10: 10+)."""
    return await repository.webhook_figures(session)
