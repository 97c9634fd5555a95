"""A request's status and hour figures, and an offer's hour figures, follow its allocations.

They are stored on the request and offer rows so that lists filter and sort on them and so
that a change shows in the version, the ETag, the change feed and the history. They are
never adjusted by hand: every write that touches allocations calls `update_request` /
`update_offer`, which recompute them from the allocations (one SUM query) in the same
transaction, under the row lock the caller holds.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from shared.feed import events, history
from shared.models import CapacityOffer, WorkloadRequest
from shared.support import rules
from shared.support.allocations import repository as allocations
from shared.support.offers.repository import OFFERS
from shared.support.requests.repository import REQUESTS
from shared.support.requests.repository import to_api as request_to_api

FIGURES_UPDATED = "figures_updated"


async def update_request(
    session: AsyncSession,
    request: WorkloadRequest,
    *,
    actor: str,
    action: str = FIGURES_UPDATED,
    reason: str | None = None,
    values: dict[str, Any] | None = None,
    expected_version: int | None = None,
    hours: dict[str, int] | None = None,
) -> dict[str, dict[str, Any]]:
    """Apply `values` (if any) and the figures recomputed from the allocations as one new
    version of a locked request; announce when it becomes matched or fulfilled. `hours`:
    the request's proposed and accepted hours when the caller has just read them."""
    figures = hours or (await allocations.figures_by_request(session, [request.id]))[request.id]
    merged = dict(values or {})
    status = rules.request_status(
        merged.get("status", request.status),
        merged.get("hours", request.hours),
        figures["proposed"],
        figures["accepted"],
    )
    merged.update(
        status=status, hours_proposed=figures["proposed"], hours_accepted=figures["accepted"]
    )
    before = request.status
    changes = await history.update(
        session,
        REQUESTS,
        request,
        merged,
        actor=actor,
        action=action,
        reason=reason,
        expected_version=expected_version,
    )
    if request.status != before and request.status in ("matched", "fulfilled"):
        await events.emit(session, f"workload_request.{request.status}", request_to_api(request))
    return changes


async def update_offer(
    session: AsyncSession,
    offer: CapacityOffer,
    *,
    actor: str,
    action: str = FIGURES_UPDATED,
    reason: str | None = None,
    values: dict[str, Any] | None = None,
    expected_version: int | None = None,
    hours: dict[str, int] | None = None,
) -> dict[str, dict[str, Any]]:
    """Apply `values` (if any) and the figures recomputed from the allocations as one new
    version of a locked offer. `hours`: the offer's proposed and accepted hours when the
    caller has just read them."""
    figures = hours or (await allocations.figures_by_offer(session, [offer.id]))[offer.id]
    merged = dict(values or {})
    merged.update(hours_proposed=figures["proposed"], hours_accepted=figures["accepted"])
    return await history.update(
        session,
        OFFERS,
        offer,
        merged,
        actor=actor,
        action=action,
        reason=reason,
        expected_version=expected_version,
    )
