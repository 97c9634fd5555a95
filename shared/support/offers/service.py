"""Capacity offer rules: who may write, what must hold, and what follows a change."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import date
from types import SimpleNamespace
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import crud
from shared.errors import Conflict
from shared.feed import history
from shared.matching.triggers import trigger
from shared.models import CapacityOffer
from shared.policy import Principal, require_own_secretariat
from shared.schemas import validate_document
from shared.secretariats.service import ensure_exist
from shared.support import figures, rules
from shared.support.allocations import repository as allocations
from shared.support.allocations.service import drop
from shared.support.offers import repository as repo
from shared.support.offers.repository import OFFERS
from shared.support.offers.schemas import CapacityOfferWrite
from shared.support.requests import repository as requests


def _writable(o: CapacityOffer) -> dict[str, Any]:
    body = repo.to_api(o)
    for key in ("id", "status", "hours_proposed", "hours_accepted", "version"):
        body.pop(key)
    for key in ("created_at", "updated_at"):
        body.pop(key)
    body = {k: v for k, v in body.items() if v is not None}
    body["unavailable_dates"] = [d.isoformat() for d in body.get("unavailable_dates", [])]
    return {k: v.isoformat() if isinstance(v, date) else v for k, v in body.items()}


def _columns(data: CapacityOfferWrite) -> dict[str, Any]:
    return {
        "secretariat_code": data.secretariat,
        "kind": data.kind,
        "title": data.title,
        "description": data.description,
        "skills": data.skills,
        "start_date": data.start_date,
        "end_date": data.end_date,
        "hours_per_day": data.hours_per_day,
        "total_hours": data.total_hours,
        "location": data.location,
        "travel_ok": data.travel_ok,
        "unavailable_dates": data.unavailable_dates,
        "external_source": data.external_ref.source if data.external_ref else None,
        "external_id": data.external_ref.id if data.external_ref else None,
    }


async def _check(session: AsyncSession, data: CapacityOfferWrite, own_id: uuid.UUID | None) -> None:
    await ensure_exist(session, [data.secretariat], "secretariat")
    ref = data.external_ref.model_dump() if data.external_ref else None
    await crud.ensure_external_ref_free(session, OFFERS, data.secretariat, ref, own_id)


async def create(
    session: AsyncSession, principal: Principal, data: CapacityOfferWrite
) -> CapacityOffer:
    """Offer capacity on behalf of the caller's secretariat."""
    require_own_secretariat(principal, data.secretariat, "offer capacity for it")
    await _check(session, data, None)
    offer = await crud.insert(session, OFFERS, _columns(data))
    await history.created(session, OFFERS, offer, principal.name)
    await trigger(session, f"capacity_offer.created {offer.id}")
    return offer


def _conflict(why: str, **extra: Any) -> Conflict:
    return Conflict(
        f"The change conflicts with the accepted allocations: {why}. "
        "Cancel those allocations first.",
        type_slug="conflicts-with-accepted",
        **extra,
    )


async def _check_accepted(
    session: AsyncSession, offer: CapacityOffer, values: dict[str, Any]
) -> None:
    """Conflict when the changed offer would no longer hold its accepted allocations."""
    accepted = await allocations.live(session, offer_id=offer.id, statuses=("accepted",))
    if not accepted:
        return
    changed = SimpleNamespace(**values)
    total = sum(a.hours for a in accepted)
    if changed.total_hours < total:
        raise _conflict(f"{total} hours are accepted, over total_hours", field="total_hours")
    per_day: dict[date, int] = defaultdict(int)
    for a in accepted:
        for d in a.days:
            per_day[d.day] += d.hours
    busiest = max(per_day, key=lambda d: per_day[d])
    if changed.hours_per_day < per_day[busiest]:
        raise _conflict(
            f"{per_day[busiest]} hours are accepted on {busiest.isoformat()}, over hours_per_day",
            field="hours_per_day",
        )
    away = sorted(set(per_day) & set(changed.unavailable_dates))
    if away:
        raise _conflict(
            f"hours are accepted on {away[0].isoformat()}, now an unavailable date",
            field="unavailable_dates",
        )
    outside = sorted(d for d in per_day if not changed.start_date <= d <= changed.end_date)
    if outside:
        raise _conflict(
            f"the window would no longer cover the accepted day {outside[0].isoformat()}",
            field="start_date" if outside[0] < changed.start_date else "end_date",
        )
    after = rules.offer_terms(changed)
    request_rows = await requests.by_ids(session, {a.request_id for a in accepted})
    for a in accepted:
        terms = rules.request_terms(request_rows[a.request_id])
        why = rules.why_not(terms, after)
        if why is None and rules.is_travel(terms, after) != a.travel:
            why = "the travel the allocation was agreed with would change"
        if why is not None:
            raise _conflict(f"allocation {a.id}: {why}", allocation_id=str(a.id))


async def _replace(
    session: AsyncSession,
    principal: Principal,
    offer: CapacityOffer,
    data: CapacityOfferWrite,
    expected_version: int | None,
) -> CapacityOffer:
    require_own_secretariat(principal, offer.secretariat_code, "change this capacity offer")
    require_own_secretariat(principal, data.secretariat, "offer capacity for it")
    crud.check_version(OFFERS, offer, expected_version)
    await _check(session, data, offer.id)
    values = _columns(data)
    changed = rules.field_names({k for k, v in values.items() if getattr(offer, k) != v})
    if not changed:
        return offer
    if offer.status == "withdrawn":
        raise Conflict(
            "The capacity offer was withdrawn: it can no longer change.", type_slug="closed"
        )
    if changed & rules.OFFER_MATCHING_FIELDS:
        await _check_accepted(session, offer, values)
    await figures.update_offer(
        session, offer, actor=principal.name, action="updated", values=values
    )
    if changed & rules.OFFER_ELIGIBILITY_FIELDS:
        await allocations.lift_bans(session, offer_id=offer.id)
    if changed & rules.OFFER_MATCHING_FIELDS:
        await trigger(session, f"capacity_offer.changed {offer.id}")
    return offer


async def patch(
    session: AsyncSession,
    principal: Principal,
    offer_id: uuid.UUID,
    patch_doc: dict[str, Any],
    expected_version: int | None,
) -> CapacityOffer:
    """Apply a JSON merge patch."""
    offer = await repo.lock_one(session, offer_id)
    require_own_secretariat(principal, offer.secretariat_code, "change this capacity offer")
    data = validate_document(CapacityOfferWrite, crud.merge_patch(_writable(offer), patch_doc))
    return await _replace(session, principal, offer, data, expected_version)


async def upsert_by_ref(
    session: AsyncSession,
    principal: Principal,
    owner: str,
    source: str,
    ext_id: str,
    data: CapacityOfferWrite,
) -> tuple[CapacityOffer, bool]:
    """Create or replace the offer of `owner` carrying this external reference; True when
    created."""
    document = {**data.model_dump(mode="json"), "external_ref": {"source": source, "id": ext_id}}
    data = validate_document(CapacityOfferWrite, document)
    await crud.lock_external_ref(session, OFFERS, owner, source, ext_id)
    existing = await crud.find_by_external_ref(session, OFFERS, owner, source, ext_id)
    if existing is None:
        require_own_secretariat(principal, data.secretariat, "offer capacity for it")
        crud.require_reference_owner(principal, OFFERS, owner, data.secretariat, "secretariat")
        return await create(session, principal, data), True
    offer = await repo.lock_one(session, existing.id)
    return await _replace(session, principal, offer, data, None), False


async def withdraw(
    session: AsyncSession,
    principal: Principal,
    offer_id: uuid.UUID,
    reason: str | None,
    expected_version: int | None,
) -> CapacityOffer:
    """Withdraw an offer: no new proposals, its proposals are dropped; the allocations
    accepted already stay (cancel them one by one if the people cannot come after all)."""
    offer = await repo.lock_one(session, offer_id)
    require_own_secretariat(principal, offer.secretariat_code, "withdraw this capacity offer")
    crud.check_version(OFFERS, offer, expected_version)
    if offer.status == "withdrawn":
        return offer
    # Holding the offer's lock, its allocations cannot change: every writer takes it first.
    request_ids, _ = await allocations.parties_of_live(
        session, offer_id=offer_id, statuses=("proposed",)
    )
    request_rows = await requests.lock(session, request_ids)
    proposals = await allocations.live(
        session, offer_id=offer_id, statuses=("proposed",), lock=True
    )
    why = "capacity offer withdrawn" + (f": {reason}" if reason else "")
    for allocation in proposals:
        await drop(session, allocation, principal.name, why)
    await figures.update_offer(
        session,
        offer,
        actor=principal.name,
        action="withdrawn",
        reason=reason,
        values={"status": "withdrawn"},
    )
    for request_id in sorted(request_rows):
        await figures.update_request(
            session, request_rows[request_id], actor=principal.name, reason=why
        )
    await trigger(session, f"capacity_offer.withdrawn {offer.id}")
    return offer


# Outside this package the repository is reached through the service only: the one
# row-to-API mapping.
to_api = repo.to_api


async def get(session: AsyncSession, offer_id: uuid.UUID) -> dict[str, Any]:
    """One offer as the API shows it, or NotFound."""
    return repo.to_api(await repo.get(session, offer_id))


async def history_of(
    session: AsyncSession, offer_id: uuid.UUID, cursor: str | None, limit: int
) -> tuple[list[dict[str, Any]], str | None]:
    """An offer's history, or NotFound."""
    await repo.get(session, offer_id)
    return await history.entries(session, "capacity_offer", offer_id, cursor=cursor, limit=limit)


list_offers = repo.list_page
