"""Getting events to webhook subscribers: fan-out, ordered sending, retries, disabling.

1. **Fan-out.** `emit()` writes an `event` row in the transaction that caused it. The
   worker turns every event not yet dispatched into one `webhook_delivery` row per
   subscription that wants its type, under an advisory lock and in event order, and marks
   the event dispatched, all in one transaction. Delivery ids therefore follow the order in
   which events became visible, which for events of one object is the order they happened.
2. **Ordered sending.** A subscription's deliveries go out one at a time, oldest first: a
   worker takes a lease on the subscription (`lease_until`), sends its due deliveries in
   id order and lets go. A delivery that is waiting for a retry holds back the later ones
   (the receiver never sees event n+1 before event n).
3. **Retries** on network errors, timeouts and 5xx, with exponential back-off and jitter,
   for up to 24 h after the first attempt; never on other statuses (4xx, redirects, which
   are not followed). The schedule lives in PostgreSQL (`next_attempt_at`); the worker's
   sweep every few seconds picks up whatever is due, so a lost Redis job delays a retry by
   seconds and loses nothing.
4. **Disabling.** A subscription whose deliveries have failed for 24 h (no success since
   `failing_since`) is disabled, with the reason shown by the API; its pending deliveries
   fail with that reason. Re-enabling it (PATCH `enabled: true`) resumes with new events.

Every attempt is recorded in `webhook_attempt`. Delivery is at least once: a worker that
dies after sending and before recording sends again; receivers drop duplicates by
`webhook-id`.

`run` is many short transactions (fan-out, each lease, each delivery's record, each release)
with the HTTP calls between them, never inside one, and several subscriptions in flight at
once. So it takes a unit-of-work factory (`shared.db.UnitOfWork`) from the worker's task,
which decides what each commit does, rather than a session; nothing here commits.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import UnitOfWork
from shared.models import WebhookAttempt, WebhookDelivery, WebhookSubscription
from shared.serialization import dumps
from shared.webhooks import repository, service, signing

log = logging.getLogger("tandem.webhooks")
# httpx logs every request's full URL at INFO; a receiver's URL may carry its own token.
logging.getLogger("httpx").setLevel(logging.WARNING)

DISPATCH_LOCK = 0x7A_6E_64_6D_5F_77_68  # "tndm_wh"
DISPATCH_BATCH = 1000
RETRY_WINDOW = timedelta(hours=24)
DISABLE_AFTER = timedelta(hours=24)
FIRST_RETRY_SECONDS = 5.0
MAX_RETRY_SECONDS = 3600.0
LEASE = timedelta(seconds=120)
CONCURRENT_SUBSCRIPTIONS = 8
SENDS_PER_LEASE = 100
REQUEST_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
RESPONSE_EXCERPT = 512
USER_AGENT = "Tandem-Webhooks/1.0"

Nudge = Callable[[datetime], Awaitable[None]]


def retry_delay(attempt: int, rng: random.Random | None = None) -> float:
    """Seconds to wait after failed attempt number `attempt` (1-based): doubling from 5 s,
    capped at an hour, with jitter ("equal jitter": between half and all of the step)."""
    step = min(MAX_RETRY_SECONDS, FIRST_RETRY_SECONDS * 2 ** (attempt - 1))
    return step / 2 + (rng or random).uniform(0, step / 2)


# -- fan-out ------------------------------------------------------------------------------


async def dispatch(session: AsyncSession) -> int:
    """Fan undispatched events out to the subscriptions that want them; how many events."""
    if not await repository.any_undispatched(session):
        return 0
    # The lock keeps two workers from interleaving; the statement after it sees every event
    # committed before the lock was granted.
    await repository.lock(session, DISPATCH_LOCK)
    total = 0
    while True:
        count = await repository.dispatch_batch(session, DISPATCH_BATCH)
        total += count
        if count < DISPATCH_BATCH:
            return total


# -- sending -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AttemptResult:
    delivered: bool
    retryable: bool
    status_code: int | None
    error: str | None
    duration_ms: int


def _body(payload: dict[str, Any]) -> bytes:
    return dumps(payload)


async def send(
    client: httpx.AsyncClient,
    url: str,
    secret: str,
    message_id: str,
    body: bytes,
    allowed_hosts: frozenset[str],
) -> AttemptResult:
    """POST one signed message; what came of it (never raises for the receiver's faults)."""
    started = time.perf_counter()

    def result(
        delivered: bool, retryable: bool, status: int | None, error: str | None
    ) -> AttemptResult:
        elapsed = int((time.perf_counter() - started) * 1000)
        return AttemptResult(delivered, retryable, status, error, elapsed)

    try:
        target = await service.check_target(url, allowed_hosts)
    except service.TargetRefused as exc:
        return result(False, False, None, f"refused: {exc}")
    except OSError as exc:
        return result(False, True, None, f"host does not resolve: {exc.strerror or exc}")
    headers = {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        **signing.headers(secret, message_id, int(time.time()), body),
    }
    request_url: str | httpx.URL = url
    extensions: dict[str, Any] = {}
    if target.address is not None:
        # Connect to the address that was checked, not to whatever a second lookup returns
        # (DNS rebinding); TLS still verifies the certificate for the host name.
        request_url = httpx.URL(url).copy_with(host=str(target.address))
        headers["host"] = httpx.URL(url).netloc.decode()
        extensions["sni_hostname"] = target.host
    try:
        async with client.stream(
            "POST",
            request_url,
            content=body,
            headers=headers,
            timeout=REQUEST_TIMEOUT,
            extensions=extensions,
        ) as response:
            excerpt = b""
            async for chunk in response.aiter_bytes():
                excerpt += chunk
                if len(excerpt) >= RESPONSE_EXCERPT:
                    break
    except httpx.TimeoutException as exc:
        return result(False, True, None, f"timeout: {type(exc).__name__}")
    except httpx.HTTPError as exc:
        return result(False, True, None, f"network error: {type(exc).__name__}: {exc}"[:500])
    status = response.status_code
    if 200 <= status < 300:
        return result(True, False, status, None)
    text_excerpt = excerpt[:RESPONSE_EXCERPT].decode("utf-8", "replace").strip()
    error = f"HTTP {status}" + (f": {text_excerpt}" if text_excerpt else "")
    if 300 <= status < 400:
        error += " (redirects are not followed: use the final URL)"
    return result(False, status >= 500, status, error)


async def record(
    session: AsyncSession,
    sub: WebhookSubscription,
    delivery: WebhookDelivery,
    outcome: AttemptResult,
    attempted_at: datetime,
    rng: random.Random | None = None,
) -> WebhookAttempt:
    """Write down an attempt and decide what happens next (retry, fail, disable)."""
    delivery.attempts += 1
    delivery.first_attempt_at = delivery.first_attempt_at or attempted_at
    was_failing = sub.failing_since is not None
    next_at: datetime | None = None
    if outcome.delivered:
        kind = "delivered"
        delivery.status = "delivered"
        delivery.finished_at = attempted_at
        delivery.last_error = None
        sub.failing_since = None
    else:
        delivery.last_error = outcome.error
        sub.failing_since = sub.failing_since or attempted_at
        retry_at = attempted_at + timedelta(seconds=retry_delay(delivery.attempts, rng))
        if outcome.retryable and retry_at - delivery.first_attempt_at <= RETRY_WINDOW:
            kind = "retry"
            next_at = retry_at
        else:
            kind = "failed"
            delivery.status = "failed"
            delivery.finished_at = attempted_at
    delivery.next_attempt_at = next_at
    attempt = WebhookAttempt(
        delivery_id=delivery.id,
        subscription_id=sub.id,
        attempt=delivery.attempts,
        attempted_at=attempted_at,
        duration_ms=outcome.duration_ms,
        status_code=outcome.status_code,
        error=outcome.error,
        outcome=kind,
        next_attempt_at=next_at,
    )
    session.add(attempt)  # flushed below, with the delivery and the subscription
    if was_failing != (sub.failing_since is not None):
        # The API shows failing_since: a new version, so ETags and If-Match stay truthful.
        sub.version += 1
        sub.updated_at = attempted_at
    await session.flush()
    if (
        not outcome.delivered
        and sub.enabled
        and sub.failing_since is not None
        and attempted_at - sub.failing_since >= DISABLE_AFTER
    ):
        reason = (
            f"Disabled automatically at {attempted_at:%Y-%m-%d %H:%M} UTC: every delivery has "
            f"failed since {sub.failing_since:%Y-%m-%d %H:%M} UTC (last: {outcome.error}). "
            "Fix the receiver, then PATCH enabled: true."
        )
        await service.disable(session, sub, reason, attempted_at)
        sub.version += 1
        sub.updated_at = attempted_at
        log.warning("webhook subscription disabled", extra={"subscription_id": str(sub.id)})
    return attempt


async def _claim(units: UnitOfWork, limit: int) -> list[uuid.UUID]:
    """Lease subscriptions whose oldest pending delivery is due."""
    async with units() as session:
        return await repository.lease_due(session, limit, LEASE)


async def _release(units: UnitOfWork, sub_id: uuid.UUID) -> None:
    async with units() as session:
        await repository.release(session, sub_id)


async def _next_due(
    units: UnitOfWork, sub_id: uuid.UUID
) -> tuple[str, str, WebhookDelivery] | datetime | None:
    """The subscription's oldest pending delivery if due (renewing the lease), else when
    it will be (None when nothing is pending or the subscription is off)."""
    async with units() as session:
        sub = await repository.get(session, sub_id)
        if sub is None or not sub.enabled:
            return None
        head = await repository.oldest_pending(session, sub_id)
        if head is None or head.next_attempt_at is None:
            return None
        if head.next_attempt_at > datetime.now(UTC):
            return head.next_attempt_at
        sub.lease_until = datetime.now(UTC) + LEASE
        return sub.url, sub.secret, head


async def _deliver_for(
    units: UnitOfWork,
    client: httpx.AsyncClient,
    sub_id: uuid.UUID,
    allowed_hosts: frozenset[str],
    nudge: Nudge | None,
) -> int:
    """Send a leased subscription's due deliveries in order; how many attempts were made."""
    sent = 0
    try:
        while sent < SENDS_PER_LEASE:
            due = await _next_due(units, sub_id)
            if not isinstance(due, tuple):
                if isinstance(due, datetime) and nudge is not None:
                    await nudge(due)
                return sent
            url, secret, delivery = due
            outcome = await send(
                client, url, secret, delivery.message_id, _body(delivery.payload), allowed_hosts
            )
            attempted_at = datetime.now(UTC)
            async with units() as session:
                sub = await repository.get(session, sub_id, lock=True)
                current = await repository.get_delivery(session, delivery.id, lock=True)
                if sub is None or current is None or current.status != "pending":
                    continue  # deleted or disabled meanwhile: nothing to record against
                await record(session, sub, current, outcome, attempted_at)
            sent += 1
            log.info(
                "webhook attempt",
                extra={
                    "subscription_id": str(sub_id),
                    "delivery_id": delivery.id,
                    "event_type": delivery.event_type,
                    "status_code": outcome.status_code,
                    "delivered": outcome.delivered,
                    "error": outcome.error,
                    "ms": outcome.duration_ms,
                },
            )
        return sent
    finally:
        await _release(units, sub_id)


async def run(
    units: UnitOfWork,
    client: httpx.AsyncClient,
    allowed_hosts: frozenset[str],
    nudge: Nudge | None = None,
) -> dict[str, int]:
    """Dispatch new events, then send everything that is due, each transaction in a unit of
    work from `units`; what was done."""
    async with units() as session:
        dispatched = await dispatch(session)
    attempts = 0
    while True:
        claimed = await _claim(units, CONCURRENT_SUBSCRIPTIONS)
        if not claimed:
            break
        counts = await asyncio.gather(
            *(_deliver_for(units, client, s, allowed_hosts, nudge) for s in claimed)
        )
        attempts += sum(counts)
        if not any(counts):
            break
    return {"dispatched": dispatched, "attempts": attempts}


# -- ping ----------------------------------------------------------------------------------


async def ping(
    session: AsyncSession,
    client: httpx.AsyncClient,
    sub: WebhookSubscription,
    allowed_hosts: frozenset[str],
) -> tuple[AttemptResult, dict[str, Any]]:
    """Send a `webhook.test` message now (out of the event order) and log the attempt."""
    message_id = f"ping_{uuid.uuid4().hex}"
    now = datetime.now(UTC)
    payload = {
        "id": message_id,
        "type": "webhook.test",
        "timestamp": now.isoformat(),
        "data": {"subscription_id": str(sub.id)},
    }
    outcome = await send(client, sub.url, sub.secret, message_id, _body(payload), allowed_hosts)
    delivery = WebhookDelivery(
        subscription_id=sub.id,
        message_id=message_id,
        event_type="webhook.test",
        payload=orjson.loads(_body(payload)),
        status="delivered" if outcome.delivered else "failed",
        attempts=1,
        first_attempt_at=now,
        finished_at=now,
        last_error=outcome.error,
    )
    await repository.add(session, delivery)
    attempt = WebhookAttempt(
        delivery_id=delivery.id,
        subscription_id=sub.id,
        attempt=1,
        attempted_at=now,
        duration_ms=outcome.duration_ms,
        status_code=outcome.status_code,
        error=outcome.error,
        outcome="delivered" if outcome.delivered else "failed",
    )
    await repository.add(session, attempt)
    shown = {
        "id": attempt.id,
        "delivery_id": delivery.id,
        "message_id": message_id,
        "event_id": None,
        "event_type": delivery.event_type,
        "attempt": 1,
        "attempted_at": now,
        "duration_ms": outcome.duration_ms,
        "status_code": outcome.status_code,
        "error": outcome.error,
        "outcome": attempt.outcome,
        "next_attempt_at": None,
        "delivery_status": delivery.status,
    }
    return outcome, shown


# -- retention ------------------------------------------------------------------------------


async def prune(session: AsyncSession, retention_days: int) -> int:
    """Forget dispatched events and finished deliveries older than the retention period."""
    cutoff = datetime.now(UTC) - timedelta(days=retention_days)
    return await repository.prune_before(session, cutoff)
