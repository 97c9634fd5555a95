"""Allocations: the matching worker's proposals and the offering secretariat's decisions."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from services.api.auth import ApproveKey, ReadKey
from services.api.conventions import expected_version, idempotent, object_response
from services.api.deps import SessionDep, SettingsDep
from services.api.routing import Cursor, Limit, page_response, problems
from shared.schemas import Page
from shared.support.allocations import service
from shared.support.allocations.schemas import (
    AcceptBody,
    AllocationRead,
    AllocationStatus,
    HistoryEntryRead,
    ReasonBody,
)
from shared.types import SecretariatCode

router = APIRouter(prefix="/allocations", tags=["allocations"])


@router.get(
    "", summary="List allocations", response_model=Page[AllocationRead], responses=problems(400)
)
async def list_allocations(
    session: SessionDep,
    _key: ReadKey,
    request_id: uuid.UUID | None = None,
    offer_id: uuid.UUID | None = None,
    status: AllocationStatus | None = None,
    secretariat: Annotated[
        SecretariatCode | None, Query(description="Asking or offering secretariat")
    ] = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Response:
    items, next_cursor = await service.list_allocations(
        session,
        request_id=request_id,
        offer_id=offer_id,
        status=status,
        secretariat=secretariat,
        cursor=cursor,
        limit=limit,
    )
    return page_response(items, next_cursor)


@router.get(
    "/{allocation_id}",
    summary="One allocation with its day-by-day schedule",
    response_model=AllocationRead,
    responses=problems(304, 404),
)
async def get_allocation(
    request: Request, allocation_id: uuid.UUID, session: SessionDep, _key: ReadKey
) -> Response:
    return object_response(request, await service.get(session, allocation_id))


@router.post(
    "/{allocation_id}/accept",
    summary="Accept a proposal (offering secretariat, approve scope)",
    response_model=AllocationRead,
    responses=problems(404, 409, 412),
)
async def accept_allocation(
    request: Request,
    allocation_id: uuid.UUID,
    session: SessionDep,
    key: ApproveKey,
    settings: SettingsDep,
    body: AcceptBody | None = None,
) -> Response:
    async def produce() -> Response:
        accepted = await service.accept(
            session,
            key,
            allocation_id,
            body.reason if body else None,
            expected_version(request),
            settings.working_weekdays,
        )
        return object_response(request, service.to_api(accepted))

    return await idempotent(request, session, key, settings.idempotency_ttl_hours, produce)


@router.post(
    "/{allocation_id}/decline",
    summary="Decline a proposal, with a reason (offering secretariat, approve scope)",
    response_model=AllocationRead,
    responses=problems(404, 409, 412),
)
async def decline_allocation(
    request: Request,
    allocation_id: uuid.UUID,
    body: ReasonBody,
    session: SessionDep,
    key: ApproveKey,
    settings: SettingsDep,
) -> Response:
    async def produce() -> Response:
        declined = await service.decline(
            session, key, allocation_id, body.reason, expected_version(request)
        )
        return object_response(request, service.to_api(declined))

    return await idempotent(request, session, key, settings.idempotency_ttl_hours, produce)


@router.post(
    "/{allocation_id}/cancel",
    summary="Cancel a proposed or accepted allocation, with a reason (either side, approve)",
    response_model=AllocationRead,
    responses=problems(404, 409, 412),
)
async def cancel_allocation(
    request: Request,
    allocation_id: uuid.UUID,
    body: ReasonBody,
    session: SessionDep,
    key: ApproveKey,
    settings: SettingsDep,
) -> Response:
    async def produce() -> Response:
        cancelled = await service.cancel(
            session, key, allocation_id, body.reason, expected_version(request)
        )
        return object_response(request, service.to_api(cancelled))

    return await idempotent(request, session, key, settings.idempotency_ttl_hours, produce)


@router.get(
    "/{allocation_id}/history",
    summary="Who proposed, changed or decided what on this allocation, and when",
    response_model=Page[HistoryEntryRead],
    responses=problems(400, 404),
)
async def allocation_history(
    allocation_id: uuid.UUID,
    session: SessionDep,
    _key: ReadKey,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Response:
    items, next_cursor = await service.history_of(session, allocation_id, cursor, limit)
    return page_response(items, next_cursor)
