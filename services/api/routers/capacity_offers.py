"""Capacity offers: a secretariat offers people's hours."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from services.api.auth import ReadKey, WriteKey
from services.api.conventions import expected_version, idempotent, object_response
from services.api.deps import SessionDep, SettingsDep
from services.api.routing import (
    Cursor,
    Limit,
    RefId,
    RefOwner,
    RefSource,
    created_response,
    page_response,
    problems,
)
from shared.policy import reference_owner
from shared.schemas import Page
from shared.support.allocations.schemas import HistoryEntryRead
from shared.support.offers import service
from shared.support.offers.schemas import (
    CapacityOfferRead,
    CapacityOfferUpdate,
    CapacityOfferWrite,
    OfferStatus,
)
from shared.support.requests.schemas import CancelBody, Kind
from shared.types import Day, SecretariatCode, Skill, Timestamp

router = APIRouter(prefix="/capacity-offers", tags=["capacity offers"])
PATH = "/v1/capacity-offers"


@router.get(
    "",
    summary="List capacity offers",
    response_model=Page[CapacityOfferRead],
    responses=problems(400),
)
async def list_offers(
    session: SessionDep,
    _key: ReadKey,
    secretariat: SecretariatCode | None = None,
    kind: Kind | None = None,
    status: OfferStatus | None = None,
    skill: Annotated[Skill | None, Query(description="Offers with this skill")] = None,
    from_: Annotated[Day | None, Query(alias="from", description="Window ends on or after")] = None,
    to: Annotated[Day | None, Query(description="Window starts on or before")] = None,
    updated_since: Timestamp | None = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Response:
    items, next_cursor = await service.list_offers(
        session,
        secretariat=secretariat,
        kind=kind,
        status=status,
        skill=skill,
        overlaps_from=from_,
        overlaps_to=to,
        updated_since=updated_since,
        cursor=cursor,
        limit=limit,
    )
    return page_response(items, next_cursor)


@router.post(
    "",
    status_code=201,
    summary="Offer capacity (create a capacity offer)",
    response_model=CapacityOfferRead,
    responses=problems(409),
)
async def create_offer(
    request: Request,
    body: CapacityOfferWrite,
    session: SessionDep,
    key: WriteKey,
    settings: SettingsDep,
) -> Response:
    async def produce() -> Response:
        created = await service.create(session, key, body)
        return created_response(request, service.to_api(created), PATH)

    return await idempotent(request, session, key, settings.idempotency_ttl_hours, produce)


@router.put(
    "/by-ref/{source}/{ext_id}",
    summary="Create or update the capacity offer with this external reference",
    response_model=CapacityOfferRead,
    responses={**problems(409), 201: {"description": "Created", "model": CapacityOfferRead}},
)
async def upsert_offer(
    request: Request,
    source: RefSource,
    ext_id: RefId,
    body: CapacityOfferWrite,
    session: SessionDep,
    key: WriteKey,
    secretariat: RefOwner = None,
) -> Response:
    owner = reference_owner(key, secretariat)
    found, created = await service.upsert_by_ref(session, key, owner, source, ext_id, body)
    if created:
        return created_response(request, service.to_api(found), PATH)
    return object_response(request, service.to_api(found))


@router.get(
    "/{offer_id}",
    summary="One capacity offer",
    response_model=CapacityOfferRead,
    responses=problems(304, 404),
)
async def get_offer(
    request: Request, offer_id: uuid.UUID, session: SessionDep, _key: ReadKey
) -> Response:
    return object_response(request, await service.get(session, offer_id))


@router.patch(
    "/{offer_id}",
    summary="Change a capacity offer (JSON merge patch)",
    response_model=CapacityOfferRead,
    responses=problems(404, 409, 412),
)
async def patch_offer(
    request: Request,
    offer_id: uuid.UUID,
    body: CapacityOfferUpdate,
    session: SessionDep,
    key: WriteKey,
) -> Response:
    changed = await service.patch(
        session,
        key,
        offer_id,
        body.model_dump(mode="json", exclude_unset=True),
        expected_version(request),
    )
    return object_response(request, service.to_api(changed))


@router.post(
    "/{offer_id}/withdraw",
    summary="Withdraw a capacity offer (its proposals are dropped)",
    response_model=CapacityOfferRead,
    responses=problems(404, 409, 412),
)
async def withdraw_offer(
    request: Request,
    offer_id: uuid.UUID,
    session: SessionDep,
    key: WriteKey,
    settings: SettingsDep,
    body: CancelBody | None = None,
) -> Response:
    async def produce() -> Response:
        withdrawn = await service.withdraw(
            session, key, offer_id, body.reason if body else None, expected_version(request)
        )
        return object_response(request, service.to_api(withdrawn))

    return await idempotent(request, session, key, settings.idempotency_ttl_hours, produce)


@router.get(
    "/{offer_id}/history",
    summary="Who changed or decided what on this capacity offer, and when",
    response_model=Page[HistoryEntryRead],
    responses=problems(400, 404),
)
async def offer_history(
    offer_id: uuid.UUID,
    session: SessionDep,
    _key: ReadKey,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Response:
    items, next_cursor = await service.history_of(session, offer_id, cursor, limit)
    return page_response(items, next_cursor)
