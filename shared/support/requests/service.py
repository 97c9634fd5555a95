"""Workload request rules: who may write, what must hold, and what follows a change."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from shared.activities import service as activities
from shared.db import crud
from shared.errors import Conflict, Unprocessable
from shared.feed import events, history
from shared.matching.triggers import trigger
from shared.meetings.service import ensure_codes_exist
from shared.models import WorkloadRequest
from shared.policy import Principal, require_own_secretariat
from shared.schemas import validate_document
from shared.secretariats.service import ensure_exist
from shared.support import figures, rules
from shared.support.allocations import repository as allocations
from shared.support.allocations.service import cancel_as_consequence, drop
from shared.support.offers import repository as offers
from shared.support.requests import repository as repo
from shared.support.requests.repository import REQUESTS
from shared.support.requests.schemas import WorkloadRequestWrite

CLOSED = ("cancelled", "expired")


def today() -> date:
    """The current day (UTC), against which windows are judged."""
    return datetime.now(UTC).date()


def _writable(r: WorkloadRequest) -> dict[str, Any]:
    body = repo.to_api(r)
    for key in ("id", "status", "hours_proposed", "hours_accepted", "version"):
        body.pop(key)
    for key in ("created_at", "updated_at"):
        body.pop(key)
    body = {k: v for k, v in body.items() if v is not None}
    return {k: v.isoformat() if isinstance(v, date) else _plain(v) for k, v in body.items()}


def _plain(value: Any) -> Any:
    return str(value) if isinstance(value, uuid.UUID) else value


def _columns(data: WorkloadRequestWrite) -> dict[str, Any]:
    return {
        "secretariat_code": data.secretariat,
        "kind": data.kind,
        "title": data.title,
        "description": data.description,
        "skills": data.skills,
        "start_date": data.start_date,
        "end_date": data.end_date,
        "hours": data.hours,
        "priority": data.priority,
        "on_site": data.on_site,
        "location": data.location,
        "meeting_code": data.meeting_code,
        "activity_id": data.activity_id,
        "external_source": data.external_ref.source if data.external_ref else None,
        "external_id": data.external_ref.id if data.external_ref else None,
    }


def _not_past(data: WorkloadRequestWrite, now: date) -> None:
    if data.end_date < now:
        raise Unprocessable(
            f"The window ends on {data.end_date.isoformat()}, before today "
            f"({now.isoformat()}): support cannot be asked for the past.",
            errors=[
                {"field": "body.end_date", "message": "must not be before today", "type": "past"}
            ],
        )


async def _check(
    session: AsyncSession, data: WorkloadRequestWrite, own_id: uuid.UUID | None
) -> None:
    await ensure_exist(session, [data.secretariat], "secretariat")
    if data.meeting_code is not None:
        await ensure_codes_exist(session, [data.meeting_code], "meeting_code")
    if data.activity_id is not None and not await activities.exists(session, data.activity_id):
        raise Unprocessable(
            f"No joint activity {data.activity_id}.",
            errors=[
                {"field": "body.activity_id", "message": "no such activity", "type": "unknown"}
            ],
        )
    ref = data.external_ref.model_dump() if data.external_ref else None
    await crud.ensure_external_ref_free(session, REQUESTS, data.secretariat, ref, own_id)


async def create(
    session: AsyncSession, principal: Principal, data: WorkloadRequestWrite
) -> WorkloadRequest:
    """Ask for support on behalf of the caller's secretariat."""
    require_own_secretariat(principal, data.secretariat, "ask for support for it")
    _not_past(data, today())
    await _check(session, data, None)
    request = await crud.insert(session, REQUESTS, _columns(data))
    await history.created(session, REQUESTS, request, principal.name)
    await trigger(session, f"workload_request.created {request.id}")
    return request


async def _check_accepted(
    session: AsyncSession, request: WorkloadRequest, values: dict[str, Any]
) -> None:
    """Conflict when the changed request would no longer hold its accepted allocations."""
    accepted = await allocations.live(session, request_id=request.id, statuses=("accepted",))
    if not accepted:
        return
    changed = SimpleNamespace(**values)
    total = sum(a.hours for a in accepted)
    if changed.hours < total:
        raise Conflict(
            f"{total} hours of this request are accepted already: hours cannot go below that.",
            type_slug="conflicts-with-accepted",
            field="hours",
        )
    after = rules.request_terms(changed)
    offer_rows = await offers.by_ids(session, {a.offer_id for a in accepted})
    for a in accepted:
        terms = rules.offer_terms(offer_rows[a.offer_id])
        why = rules.why_not(after, terms)
        if why is None and rules.is_travel(after, terms) != a.travel:
            why = "the travel the accepted allocation was agreed with would change"
        outside = [d.day for d in a.days if not changed.start_date <= d.day <= changed.end_date]
        if outside:
            why = f"the window would no longer cover the accepted day {outside[0].isoformat()}"
        if why is not None:
            raise Conflict(
                f"The change conflicts with accepted allocation {a.id}: {why}. "
                "Cancel that allocation first.",
                type_slug="conflicts-with-accepted",
                allocation_id=str(a.id),
            )


async def _replace(
    session: AsyncSession,
    principal: Principal,
    request: WorkloadRequest,
    data: WorkloadRequestWrite,
    expected_version: int | None,
) -> WorkloadRequest:
    require_own_secretariat(principal, request.secretariat_code, "change this workload request")
    require_own_secretariat(principal, data.secretariat, "ask for support for it")
    crud.check_version(REQUESTS, request, expected_version)
    await _check(session, data, request.id)
    values = _columns(data)
    changed = rules.field_names({k for k, v in values.items() if getattr(request, k) != v})
    if not changed:
        return request
    if request.status in CLOSED:
        raise Conflict(
            f"The workload request is {request.status}: it can no longer change.",
            type_slug="closed",
        )
    if "end_date" in changed:
        _not_past(data, today())
    if changed & rules.REQUEST_MATCHING_FIELDS:
        await _check_accepted(session, request, values)
    await figures.update_request(
        session, request, actor=principal.name, action="updated", values=values
    )
    if changed & rules.REQUEST_ELIGIBILITY_FIELDS:
        await allocations.lift_bans(session, request_id=request.id)
    if changed & rules.REQUEST_MATCHING_FIELDS:
        await trigger(session, f"workload_request.changed {request.id}")
    return request


async def patch(
    session: AsyncSession,
    principal: Principal,
    request_id: uuid.UUID,
    patch_doc: dict[str, Any],
    expected_version: int | None,
) -> WorkloadRequest:
    """Apply a JSON merge patch."""
    request = await repo.lock_one(session, request_id)
    require_own_secretariat(principal, request.secretariat_code, "change this workload request")
    document = crud.merge_patch(_writable(request), patch_doc)
    data = validate_document(WorkloadRequestWrite, document)
    return await _replace(session, principal, request, data, expected_version)


async def upsert_by_ref(
    session: AsyncSession,
    principal: Principal,
    owner: str,
    source: str,
    ext_id: str,
    data: WorkloadRequestWrite,
) -> tuple[WorkloadRequest, bool]:
    """Create or replace the request of `owner` carrying this external reference; True when
    created."""
    document = {**data.model_dump(mode="json"), "external_ref": {"source": source, "id": ext_id}}
    data = validate_document(WorkloadRequestWrite, document)
    await crud.lock_external_ref(session, REQUESTS, owner, source, ext_id)
    existing = await crud.find_by_external_ref(session, REQUESTS, owner, source, ext_id)
    if existing is None:
        require_own_secretariat(principal, data.secretariat, "ask for support for it")
        crud.require_reference_owner(principal, REQUESTS, owner, data.secretariat, "secretariat")
        return await create(session, principal, data), True
    request = await repo.lock_one(session, existing.id)
    return await _replace(session, principal, request, data, None), False


async def cancel(
    session: AsyncSession,
    principal: Principal,
    request_id: uuid.UUID,
    reason: str | None,
    expected_version: int | None,
) -> WorkloadRequest:
    """Cancel a request: its proposals are dropped and its accepted allocations cancelled
    (the offering secretariat hears of each), which frees the offers' hours."""
    seen = await repo.get(session, request_id)
    require_own_secretariat(principal, seen.secretariat_code, "cancel this workload request")
    # Offers first, then the request: the order every writer follows.
    _, offer_ids = await allocations.parties_of_live(session, request_id=request_id)
    offer_rows = await offers.lock(session, offer_ids)
    request = await repo.lock_one(session, request_id)
    crud.check_version(REQUESTS, request, expected_version)
    if request.status == "cancelled":
        return request
    if request.status == "expired":
        raise Conflict("The workload request has expired already.", type_slug="closed")
    live = await allocations.live(session, request_id=request_id, lock=True)
    late = {a.offer_id for a in live} - offer_rows.keys()
    if late:
        # Proposed meanwhile: take those offers only if nobody holds them (no lock cycle).
        offer_rows |= await offers.lock(session, late, skip_locked=True)
        if not late <= offer_rows.keys():
            raise Conflict(
                "The request's allocations changed while cancelling it: try again.",
                type_slug="retry",
            )
    why = "workload request cancelled" + (f": {reason}" if reason else "")
    for allocation in live:
        if allocation.status == "proposed":
            await drop(session, allocation, principal.name, why)
        else:
            await cancel_as_consequence(session, allocation, principal.name, why)
    for offer_id in sorted({a.offer_id for a in live}):
        await figures.update_offer(session, offer_rows[offer_id], actor=principal.name, reason=why)
    await figures.update_request(
        session,
        request,
        actor=principal.name,
        action="cancelled",
        reason=reason,
        values={"status": "cancelled"},
    )
    await trigger(session, f"workload_request.cancelled {request.id}")
    return request


async def expire_overdue(session: AsyncSession, now: date | None = None) -> list[uuid.UUID]:
    """Mark requests whose window ended before today and that are not fulfilled as expired
    (their remaining proposals go at the next matching run); returns their ids."""
    expired = []
    for request in await repo.overdue(session, now or today()):
        await figures.update_request(
            session,
            request,
            actor=history.SYSTEM_ACTOR,
            action="expired",
            reason=f"the window ended on {request.end_date.isoformat()}",
            values={"status": "expired"},
        )
        await events.emit(session, "workload_request.expired", repo.to_api(request))
        await trigger(session, f"workload_request.expired {request.id}")
        expired.append(request.id)
    return expired


# Outside this package the repository is reached through the service only: the one
# row-to-API mapping.
to_api = repo.to_api


async def get(session: AsyncSession, request_id: uuid.UUID) -> dict[str, Any]:
    """One request as the API shows it, or NotFound."""
    return repo.to_api(await repo.get(session, request_id))


async def history_of(
    session: AsyncSession, request_id: uuid.UUID, cursor: str | None, limit: int
) -> tuple[list[dict[str, Any]], str | None]:
    """A request's history, or NotFound."""
    await repo.get(session, request_id)
    return await history.entries(
        session, "workload_request", request_id, cursor=cursor, limit=limit
    )


list_requests = repo.list_page
