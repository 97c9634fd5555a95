"""Meetings, and the joint activities reported to each."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request
from starlette.responses import Response

from services.api.auth import ReadKey, WriteKey
from services.api.conventions import (
    expected_version,
    idempotent,
    json_response,
    object_response,
)
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
from shared.activities import service as activities
from shared.activities.schemas import MeetingActivities
from shared.meetings import service
from shared.meetings.schemas import MeetingRead, MeetingUpdate, MeetingWrite
from shared.policy import reference_owner
from shared.schemas import Page
from shared.types import Day, SecretariatCode, Timestamp

router = APIRouter(prefix="/meetings", tags=["meetings"])

MeetingIdent = Annotated[
    str, Path(max_length=64, description="The meeting's id or its code (e.g. `CITES SC61`)")
]


@router.get("", summary="List meetings", response_model=Page[MeetingRead], responses=problems(400))
async def list_meetings(
    session: SessionDep,
    _key: ReadKey,
    secretariat: SecretariatCode | None = None,
    status: Literal["scheduled", "cancelled"] | None = None,
    from_: Annotated[Day | None, Query(alias="from", description="Ends on or after")] = None,
    to: Annotated[Day | None, Query(description="Starts on or before")] = None,
    updated_since: Timestamp | None = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Response:
    items, next_cursor = await service.list_meetings(
        session,
        secretariat=secretariat,
        status=status,
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
    summary="Create a meeting",
    response_model=MeetingRead,
    responses=problems(409),
)
async def create_meeting(
    request: Request, body: MeetingWrite, session: SessionDep, key: WriteKey, settings: SettingsDep
) -> Response:
    async def produce() -> Response:
        meeting = await service.create(session, key, body)
        return created_response(request, service.to_api(meeting), "/v1/meetings")

    return await idempotent(request, session, key, settings.idempotency_ttl_hours, produce)


@router.put(
    "/by-ref/{source}/{ext_id}",
    summary="Create or update the meeting with this external reference",
    response_model=MeetingRead,
    responses={**problems(409, 412), 201: {"description": "Created", "model": MeetingRead}},
)
async def upsert_meeting(
    request: Request,
    source: RefSource,
    ext_id: RefId,
    body: MeetingWrite,
    session: SessionDep,
    key: WriteKey,
    secretariat: RefOwner = None,
) -> Response:
    owner = reference_owner(key, secretariat)
    meeting, created = await service.upsert_by_ref(session, key, owner, source, ext_id, body)
    if created:
        return created_response(request, service.to_api(meeting), "/v1/meetings")
    return object_response(request, service.to_api(meeting))


@router.get(
    "/{meeting}",
    summary="One meeting",
    response_model=MeetingRead,
    responses=problems(304, 404),
)
async def get_meeting(
    request: Request, meeting: MeetingIdent, session: SessionDep, _key: ReadKey
) -> Response:
    return object_response(request, await service.get(session, meeting))


@router.patch(
    "/{meeting}",
    summary="Change a meeting (JSON merge patch)",
    response_model=MeetingRead,
    responses=problems(404, 409, 412),
)
async def patch_meeting(
    request: Request, meeting: MeetingIdent, body: MeetingUpdate, session: SessionDep, key: WriteKey
) -> Response:
    patched = await service.patch(
        session,
        key,
        meeting,
        body.model_dump(mode="json", exclude_unset=True),
        expected_version(request),
    )
    return object_response(request, service.to_api(patched))


@router.post(
    "/{meeting}/cancel",
    summary="Cancel a meeting",
    response_model=MeetingRead,
    responses=problems(404, 412),
)
async def cancel_meeting(
    request: Request, meeting: MeetingIdent, session: SessionDep, key: WriteKey
) -> Response:
    cancelled = await service.cancel(session, key, meeting, expected_version(request))
    return object_response(request, service.to_api(cancelled))


@router.get(
    "/{meeting}/activities",
    summary="The joint activities reported to a meeting, grouped by theme (JSON or CSV)",
    response_model=MeetingActivities,
    responses={
        **problems(404),
        200: {
            "description": "The list; `Accept: text/csv` gives a CSV for a meeting document",
            "content": {"text/csv": {"schema": {"type": "string"}}},
        },
    },
)
async def meeting_activities(
    request: Request, meeting: MeetingIdent, session: SessionDep, _key: ReadKey
) -> Response:
    report = await activities.for_meeting(session, meeting)
    if "text/csv" in request.headers.get("accept", ""):
        filename = report["meeting"]["code"].replace(" ", "_")
        return Response(
            activities.meeting_csv(report),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{filename}_activities.csv"'},
        )
    return json_response(report)
