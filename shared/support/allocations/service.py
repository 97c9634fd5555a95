"""The offering secretariat's decisions on allocations, and the queries behind the routes.

Locking: every write that touches allocations locks, in this order, the capacity offers
(by id), then the workload requests (by id), then the allocations. Two writers therefore
never wait for each other in a circle. Accepting re-checks every limit of matching.md
against all accepted allocations while holding the offer's and the request's locks, so two
accepts racing for the last hours of an offer are serialised and the second one sees the
first one's hours.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from shared.calendars import service as calendars
from shared.db import crud
from shared.errors import Conflict, NotFound
from shared.feed import changes, events, history
from shared.matching.triggers import trigger
from shared.models import Allocation, CapacityOffer, WorkloadRequest
from shared.policy import Principal, require_own_secretariat, require_secretariat
from shared.support import figures, rules
from shared.support.allocations import repository as repo
from shared.support.allocations.repository import ALLOCATIONS
from shared.support.offers import repository as offers
from shared.support.requests import repository as requests

# Outside this package the repository is reached through the service only (pyproject's
# import-linter contracts): the one row-to-API mapping, and what a matching run's snapshot
# and a candidates explanation read of the allocations.
to_api = repo.to_api
accepted_by_request = repo.accepted_by_request
accepted_by_offer = repo.accepted_by_offer
accepted_by_offer_day = repo.accepted_by_offer_day
banned_pairs = repo.banned_pairs
current_proposals = repo.current_proposals


async def get(session: AsyncSession, allocation_id: uuid.UUID) -> dict[str, Any]:
    """One allocation with its day-by-day schedule, or NotFound."""
    return repo.to_api(await repo.get(session, allocation_id))


async def list_allocations(
    session: AsyncSession, **filters: Any
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of allocations (filters: request_id, offer_id, status, secretariat)."""
    return await repo.list_page(session, **filters)


async def history_of(
    session: AsyncSession, allocation_id: uuid.UUID, cursor: str | None, limit: int
) -> tuple[list[dict[str, Any]], str | None]:
    """An allocation's history (kept after a proposal is dropped), or NotFound."""
    items, next_cursor = await history.entries(
        session, "allocation", allocation_id, cursor=cursor, limit=limit
    )
    if not items and not cursor and not await repo.exists(session, allocation_id):
        raise NotFound(f"No allocation {allocation_id}.")
    return items, next_cursor


async def _lock_pair(
    session: AsyncSession, allocation_id: uuid.UUID
) -> tuple[Allocation, CapacityOffer, WorkloadRequest]:
    """The allocation, its offer and its request, locked in the fixed order."""
    pair = await repo.get(session, allocation_id)
    offer = await offers.lock_one(session, pair.offer_id)
    request = await requests.lock_one(session, pair.request_id)
    return await repo.get(session, allocation_id, lock=True), offer, request


def _require_status(allocation: Allocation, allowed: tuple[str, ...], verb: str) -> None:
    if allocation.status not in allowed:
        raise Conflict(
            f"Allocation {allocation.id} is {allocation.status}: only a "
            f"{' or '.join(allowed)} allocation can be {verb}.",
            type_slug="wrong-status",
            status_now=allocation.status,
        )


def _limit(detail: str, limit: str, **extra: Any) -> Conflict:
    return Conflict(detail, type_slug="limit-exceeded", limit=limit, **extra)


async def check_fits(
    session: AsyncSession,
    allocation: Allocation,
    offer: CapacityOffer,
    request: WorkloadRequest,
    working_weekdays: frozenset[int] = rules.WORKING_DAYS,
) -> None:
    """Conflict naming the first rule or limit of matching.md that accepting `allocation`
    would break, given every accepted allocation (call with the offer and request locked)."""
    if offer.status != "active":
        raise _limit(f"Capacity offer {offer.id} was withdrawn.", "offer_active")
    if request.status in ("cancelled", "expired"):
        raise _limit(f"Workload request {request.id} is {request.status}.", "request_open")
    r, o = rules.request_terms(request), rules.offer_terms(offer)
    why = rules.why_not(r, o)
    if why is None and rules.is_travel(r, o) != allocation.travel:
        why = "the place of the work changed since the proposal"
    if why is not None:
        raise _limit(f"The pair is no longer eligible: {why}.", "eligibility")
    days = [d.day for d in allocation.days]
    closed: set[date] = set(offer.unavailable_dates or [])
    if days:
        off = await calendars.days_off(
            session,
            {request.secretariat_code, offer.secretariat_code},
            working_weekdays,
            min(days),
            max(days),
        )
        for by_day in off.values():
            closed.update(by_day)
    outside = rules.outside_windows(r, o, days, working_weekdays, closed)
    if outside:
        listed = ", ".join(d.isoformat() for d in outside)
        raise _limit(
            f"Day(s) {listed} are not usable days of the pair any more (outside a window, "
            "a holiday or closure of either secretariat, or a day the offer is away).",
            "window",
        )
    if await repo.is_banned(session, request.id, offer.id):
        raise _limit("This pair was declined before.", "declined")
    used = await repo.accepted_by_offer_day(session, [offer.id])
    for d in allocation.days:
        taken = used.get((offer.id, d.day), 0)
        if taken + d.hours > offer.hours_per_day:
            raise _limit(
                f"The offer has {offer.hours_per_day - taken} of its {offer.hours_per_day} "
                f"hours per day left on {d.day.isoformat()}; this allocation needs {d.hours}.",
                "offer_day",
                day=d.day.isoformat(),
            )
    total = (await repo.accepted_by_offer(session, [offer.id])).get(offer.id, 0)
    if total + allocation.hours > offer.total_hours:
        raise _limit(
            f"The offer has {offer.total_hours - total} of its {offer.total_hours} hours left; "
            f"this allocation needs {allocation.hours}.",
            "offer_total",
        )
    accepted = (await repo.accepted_by_request(session, [request.id])).get(request.id, 0)
    if accepted + allocation.hours > request.hours:
        raise _limit(
            f"The request needs {request.hours - accepted} more of its {request.hours} hours; "
            f"this allocation has {allocation.hours}.",
            "request_remaining",
        )


async def _decide(
    session: AsyncSession,
    allocation: Allocation,
    status: str,
    actor: str,
    reason: str | None,
) -> None:
    """Record a decision on a locked allocation: who, when, why; then tell subscribers."""
    await history.update(
        session,
        ALLOCATIONS,
        allocation,
        {
            "status": status,
            "decided_at": datetime.now(UTC),
            "decided_by": actor[:100],
            "reason": reason,
        },
        actor=actor,
        action=status,
        reason=reason,
    )
    await events.emit(session, f"allocation.{status}", repo.to_api(allocation))


async def _after(
    session: AsyncSession,
    offer: CapacityOffer,
    request: WorkloadRequest,
    actor: str,
    why: str,
) -> None:
    await figures.update_offer(session, offer, actor=actor, reason=why)
    await figures.update_request(session, request, actor=actor, reason=why)


async def accept(
    session: AsyncSession,
    principal: Principal,
    allocation_id: uuid.UUID,
    reason: str | None,
    expected_version: int | None,
    working_weekdays: frozenset[int] = rules.WORKING_DAYS,
) -> Allocation:
    """Accept a proposal for the offering secretariat, if it still fits every limit."""
    allocation, offer, request = await _lock_pair(session, allocation_id)
    require_own_secretariat(principal, offer.secretariat_code, "accept allocations of its offer")
    crud.check_version(ALLOCATIONS, allocation, expected_version)
    _require_status(allocation, ("proposed",), "accepted")
    await check_fits(session, allocation, offer, request, working_weekdays)
    await _decide(session, allocation, "accepted", principal.name, reason)
    await _after(session, offer, request, principal.name, f"allocation {allocation.id} accepted")
    return allocation


async def decline(
    session: AsyncSession,
    principal: Principal,
    allocation_id: uuid.UUID,
    reason: str,
    expected_version: int | None,
) -> Allocation:
    """Decline a proposal for the offering secretariat; the pair is banned from matching."""
    allocation, offer, request = await _lock_pair(session, allocation_id)
    require_own_secretariat(principal, offer.secretariat_code, "decline allocations of its offer")
    crud.check_version(ALLOCATIONS, allocation, expected_version)
    _require_status(allocation, ("proposed",), "declined")
    await _decide(session, allocation, "declined", principal.name, reason)
    await repo.ban(session, allocation, principal.name)
    await _after(session, offer, request, principal.name, f"allocation {allocation.id} declined")
    await trigger(session, f"allocation.declined {allocation.id}")
    return allocation


async def cancel(
    session: AsyncSession,
    principal: Principal,
    allocation_id: uuid.UUID,
    reason: str,
    expected_version: int | None,
) -> Allocation:
    """Cancel a proposed or accepted allocation, for either secretariat of the pair."""
    allocation, offer, request = await _lock_pair(session, allocation_id)
    require_secretariat(
        principal,
        [offer.secretariat_code, request.secretariat_code],
        "cancel an allocation between them",
    )
    crud.check_version(ALLOCATIONS, allocation, expected_version)
    _require_status(allocation, ("proposed", "accepted"), "cancelled")
    await _decide(session, allocation, "cancelled", principal.name, reason)
    await _after(session, offer, request, principal.name, f"allocation {allocation.id} cancelled")
    await trigger(session, f"allocation.cancelled {allocation.id}")
    return allocation


async def cancel_as_consequence(
    session: AsyncSession, allocation: Allocation, actor: str, reason: str
) -> None:
    """Cancel a locked accepted allocation because its request was cancelled."""
    await _decide(session, allocation, "cancelled", actor, reason)


async def drop(session: AsyncSession, allocation: Allocation, actor: str, reason: str) -> None:
    """Remove a locked proposal (a run no longer proposes it, or one side closed): the
    history keeps it, the change feed shows a tombstone."""
    version = allocation.version + 1
    await session.delete(allocation)
    await session.flush()
    await history.record(
        session,
        "allocation",
        allocation.id,
        version,
        "dropped",
        actor,
        {"status": {"from": allocation.status, "to": None}},
        reason,
    )
    await changes.record(
        session, "allocation", allocation.id, "delete", version, {"id": str(allocation.id)}
    )
