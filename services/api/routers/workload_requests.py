"""Workload requests: a secretariat asks for ICT or staff support."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import date as date_type
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field
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
from shared.matching import candidates
from shared.policy import reference_owner
from shared.schemas import Page
from shared.support.allocations.schemas import HistoryEntryRead
from shared.support.requests import service
from shared.support.requests.schemas import (
    CancelBody,
    Kind,
    RequestStatus,
    WorkloadRequestRead,
    WorkloadRequestUpdate,
    WorkloadRequestWrite,
)
from shared.types import Day, MeetingCode, SecretariatCode, Skill, Timestamp

CandidateReason = Literal[
    "kind",
    "skills",
    "same_secretariat",
    "declined",
    "location",
    "no_common_working_day",
    "days_off",
    "offer_withdrawn",
    "no_capacity_left",
]

router = APIRouter(prefix="/workload-requests", tags=["workload requests"])
PATH = "/v1/workload-requests"


@router.get(
    "",
    summary="List workload requests",
    response_model=Page[WorkloadRequestRead],
    responses=problems(400),
)
async def list_requests(
    session: SessionDep,
    _key: ReadKey,
    secretariat: SecretariatCode | None = None,
    kind: Kind | None = None,
    status: RequestStatus | None = None,
    skill: Annotated[Skill | None, Query(description="Requests needing this skill")] = None,
    meeting_code: Annotated[MeetingCode | None, Query()] = None,
    activity_id: uuid.UUID | None = None,
    from_: Annotated[Day | None, Query(alias="from", description="Window ends on or after")] = None,
    to: Annotated[Day | None, Query(description="Window starts on or before")] = None,
    updated_since: Timestamp | None = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Response:
    items, next_cursor = await service.list_requests(
        session,
        secretariat=secretariat,
        kind=kind,
        status=status,
        skill=skill,
        meeting_code=meeting_code,
        activity_id=activity_id,
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
    summary="Ask for support (create a workload request)",
    response_model=WorkloadRequestRead,
    responses=problems(409),
)
async def create_request(
    request: Request,
    body: WorkloadRequestWrite,
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
    summary="Create or update the workload request with this external reference",
    response_model=WorkloadRequestRead,
    responses={**problems(409), 201: {"description": "Created", "model": WorkloadRequestRead}},
)
async def upsert_request(
    request: Request,
    source: RefSource,
    ext_id: RefId,
    body: WorkloadRequestWrite,
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
    "/{request_id}",
    summary="One workload request",
    response_model=WorkloadRequestRead,
    responses=problems(304, 404),
)
async def get_request(
    request: Request, request_id: uuid.UUID, session: SessionDep, _key: ReadKey
) -> Response:
    return object_response(request, await service.get(session, request_id))


@router.patch(
    "/{request_id}",
    summary="Change a workload request (JSON merge patch)",
    response_model=WorkloadRequestRead,
    responses=problems(404, 409, 412),
)
async def patch_request(
    request: Request,
    request_id: uuid.UUID,
    body: WorkloadRequestUpdate,
    session: SessionDep,
    key: WriteKey,
) -> Response:
    changed = await service.patch(
        session,
        key,
        request_id,
        body.model_dump(mode="json", exclude_unset=True),
        expected_version(request),
    )
    return object_response(request, service.to_api(changed))


@router.post(
    "/{request_id}/cancel",
    summary="Cancel a workload request (its allocations are cancelled)",
    response_model=WorkloadRequestRead,
    responses=problems(404, 409, 412),
)
async def cancel_request(
    request: Request,
    request_id: uuid.UUID,
    session: SessionDep,
    key: WriteKey,
    settings: SettingsDep,
    body: CancelBody | None = None,
) -> Response:
    async def produce() -> Response:
        cancelled = await service.cancel(
            session, key, request_id, body.reason if body else None, expected_version(request)
        )
        return object_response(request, service.to_api(cancelled))

    return await idempotent(request, session, key, settings.idempotency_ttl_hours, produce)


@router.get(
    "/{request_id}/history",
    summary="Who changed or decided what on this workload request, and when",
    response_model=Page[HistoryEntryRead],
    responses=problems(400, 404),
)
async def request_history(
    request_id: uuid.UUID,
    session: SessionDep,
    _key: ReadKey,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Response:
    items, next_cursor = await service.history_of(session, request_id, cursor, limit)
    return page_response(items, next_cursor)


class DayOffRead(BaseModel):
    date: date_type
    side: Literal["request", "offer"] = Field(
        description="whose day off: the request's secretariat or the offer's (or its people)"
    )
    reason: Literal["public_holiday", "closure", "unavailable"]
    name: str = Field(examples=["Genevan Fast"])


class CandidateRead(BaseModel):
    offer_id: uuid.UUID
    secretariat: str
    title: str
    eligible: bool
    reason: CandidateReason | None = Field(
        description="The first rule that excludes the offer (null when eligible)"
    )
    missing_skills: list[str]
    days_off: list[DayOffRead] = Field(
        default_factory=list,
        description="With reason `days_off`: the common working weekdays and what closes each",
    )
    travel: bool
    hours_proposed: int
    hours_accepted: int
    hours_to_higher_weight: int | None = Field(
        description="Eligible offers with no hours for this request: hours the offer gives, "
        "on the request's working days, to requests of higher weight (else null)"
    )
    hours_to_equal_weight: int | None
    hours_to_lower_weight: int | None


class CandidatesRead(BaseModel):
    request_id: uuid.UUID
    weight: int
    remaining: int
    items: list[CandidateRead]


@router.get(
    "/{request_id}/candidates",
    summary="Every capacity offer of the request's kind: eligible, or the rule that excludes it",
    responses=problems(404),
)
async def request_candidates(
    request_id: uuid.UUID, session: SessionDep, _key: ReadKey
) -> CandidatesRead:
    found = await candidates.explain(session, request_id)
    return CandidatesRead(
        request_id=found.request_id,
        weight=found.weight,
        remaining=found.remaining,
        items=[CandidateRead.model_validate(asdict(c)) for c in found.offers],
    )
