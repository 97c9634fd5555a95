"""Every statement on webhook subscriptions, deliveries, attempts and the events they carry."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from shared.models import Event, WebhookAttempt, WebhookDelivery, WebhookSubscription
from shared.pagination import keyset_page

# ---- subscriptions -----------------------------------------------------------------------


async def add(session: AsyncSession, row: WebhookSubscription | WebhookDelivery | Any) -> None:
    """Insert a subscription, delivery or attempt (its id and defaults loaded)."""
    session.add(row)
    await session.flush()


async def get(
    session: AsyncSession, webhook_id: uuid.UUID, *, lock: bool = False
) -> WebhookSubscription | None:
    """One subscription (locked when `lock`), or None."""
    return await session.get(WebhookSubscription, webhook_id, with_for_update=lock)


async def page(session: AsyncSession, cursor: str | None, limit: int) -> list[WebhookSubscription]:
    """Up to limit + 1 subscriptions in creation order after `cursor`."""
    stmt = keyset_page(
        select(WebhookSubscription),
        WebhookSubscription.created_at,
        WebhookSubscription.id,
        cursor,
        limit,
    )
    return list((await session.scalars(stmt)).all())


async def remove(session: AsyncSession, sub: WebhookSubscription) -> None:
    """Delete a subscription (its deliveries and their log go with it)."""
    await session.delete(sub)
    await session.flush()


async def fail_pending(
    session: AsyncSession, subscription_id: uuid.UUID, reason: str, now: datetime
) -> None:
    """Mark a subscription's pending deliveries failed with `reason`."""
    await session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.subscription_id == subscription_id,
            WebhookDelivery.status == "pending",
        )
        .values(status="failed", finished_at=now, next_attempt_at=None, last_error=reason)
    )


# ---- attempts ----------------------------------------------------------------------------

ATTEMPT_COLUMNS = (
    WebhookAttempt.id,
    WebhookAttempt.delivery_id,
    WebhookDelivery.message_id,
    WebhookDelivery.event_id,
    WebhookDelivery.event_type,
    WebhookAttempt.attempt,
    WebhookAttempt.attempted_at,
    WebhookAttempt.duration_ms,
    WebhookAttempt.status_code,
    WebhookAttempt.error,
    WebhookAttempt.outcome,
    WebhookAttempt.next_attempt_at,
    WebhookDelivery.status.label("delivery_status"),
)


def attempt_to_api(row: Any) -> dict[str, Any]:
    """A delivery attempt as the API shows it."""
    return {name: getattr(row, name) for name in (c.key for c in ATTEMPT_COLUMNS)}


async def attempts_before(
    session: AsyncSession, webhook_id: uuid.UUID, before: int | None, limit: int
) -> list[dict[str, Any]]:
    """Up to `limit` of a subscription's attempts older than attempt `before`, newest
    first, as the API shows them."""
    stmt = (
        select(*ATTEMPT_COLUMNS)
        .join(WebhookDelivery, WebhookDelivery.id == WebhookAttempt.delivery_id)
        .where(WebhookAttempt.subscription_id == webhook_id)
    )
    if before is not None:
        stmt = stmt.where(WebhookAttempt.id < before)
    rows = (await session.execute(stmt.order_by(WebhookAttempt.id.desc()).limit(limit))).all()
    return [attempt_to_api(r) for r in rows]


# ---- fan-out -----------------------------------------------------------------------------

_DISPATCH = text(
    """
    WITH batch AS (
        SELECT id, seq, type, data, created_at FROM event
        WHERE dispatched_at IS NULL ORDER BY seq LIMIT :batch
    ), fanned AS (
        INSERT INTO webhook_delivery
            (subscription_id, event_id, message_id, event_type, payload, next_attempt_at)
        SELECT s.id, b.id, b.id::text, b.type,
               jsonb_build_object(
                   'id', b.id, 'type', b.type, 'timestamp', b.created_at, 'data', b.data
               ),
               now()
        FROM batch b JOIN webhook_subscription s ON s.enabled AND b.type = ANY(s.events)
        ORDER BY b.seq, s.id
        ON CONFLICT (subscription_id, event_id) DO NOTHING
        RETURNING 1
    )
    UPDATE event SET dispatched_at = now()
    WHERE id IN (SELECT id FROM batch)
    RETURNING 1
    """
)


async def any_undispatched(session: AsyncSession) -> bool:
    """Whether some event has not been fanned out yet."""
    pending = await session.scalar(select(Event.id).where(Event.dispatched_at.is_(None)).limit(1))
    return pending is not None


async def lock(session: AsyncSession, lock_id: int) -> None:
    """Take an advisory lock until the end of the transaction."""
    await session.execute(select(func.pg_advisory_xact_lock(lock_id)))


async def dispatch_batch(session: AsyncSession, batch: int) -> int:
    """Turn up to `batch` undispatched events, in order, into one delivery per subscription
    that wants each, and mark them dispatched; how many events."""
    return len((await session.execute(_DISPATCH, {"batch": batch})).all())


# ---- sending -----------------------------------------------------------------------------


async def lease_due(session: AsyncSession, limit: int, lease: timedelta) -> list[uuid.UUID]:
    """Lease up to `limit` enabled, unleased subscriptions whose oldest pending delivery is
    due; their ids."""
    now = func.now()
    head_due = (
        select(WebhookDelivery.next_attempt_at)
        .where(
            WebhookDelivery.subscription_id == WebhookSubscription.id,
            WebhookDelivery.status == "pending",
        )
        .order_by(WebhookDelivery.id)
        .limit(1)
        .scalar_subquery()
    )
    candidates = (
        select(WebhookSubscription.id)
        .where(
            WebhookSubscription.enabled,
            (WebhookSubscription.lease_until.is_(None)) | (WebhookSubscription.lease_until < now),
            head_due <= now,
        )
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    rows = await session.execute(
        update(WebhookSubscription)
        .where(WebhookSubscription.id.in_(candidates.scalar_subquery()))
        .values(lease_until=now + lease)
        .returning(WebhookSubscription.id)
    )
    return [r.id for r in rows]


async def release(session: AsyncSession, subscription_id: uuid.UUID) -> None:
    """End a subscription's lease."""
    await session.execute(
        update(WebhookSubscription)
        .where(WebhookSubscription.id == subscription_id)
        .values(lease_until=None)
    )


async def oldest_pending(
    session: AsyncSession, subscription_id: uuid.UUID
) -> WebhookDelivery | None:
    """A subscription's oldest pending delivery, or None."""
    return await session.scalar(
        select(WebhookDelivery)
        .where(
            WebhookDelivery.subscription_id == subscription_id,
            WebhookDelivery.status == "pending",
        )
        .order_by(WebhookDelivery.id)
        .limit(1)
    )


async def get_delivery(
    session: AsyncSession, delivery_id: int, *, lock: bool = False
) -> WebhookDelivery | None:
    """One delivery (locked when `lock`), or None."""
    return await session.get(WebhookDelivery, delivery_id, with_for_update=lock)


# ---- retention ---------------------------------------------------------------------------


async def prune_before(session: AsyncSession, cutoff: datetime) -> int:
    """Forget dispatched events and finished deliveries made before `cutoff`; how many
    events."""
    events = await session.execute(
        delete(Event).where(Event.dispatched_at.is_not(None), Event.created_at < cutoff)
    )
    await session.execute(
        delete(WebhookDelivery).where(
            and_(WebhookDelivery.status != "pending", WebhookDelivery.created_at < cutoff)
        )
    )
    count: int = events.rowcount  # type: ignore[attr-defined]
    return count
