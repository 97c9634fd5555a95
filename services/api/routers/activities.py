"""The register of joint activities."""

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
from shared.activities import service
from shared.activities.schemas import (
    ActivityRead,
    ActivityStatus,
    ActivityUpdate,
    ActivityWrite,
    Theme,
)
from shared.policy import reference_owner
from shared.schemas import Page
from shared.types import MeetingCode, SecretariatCode, Timestamp

router = APIRouter(prefix="/activities", tags=["activities"])


@router.get(
    "", summary="List joint activities", response_model=Page[ActivityRead], responses=problems(400)
)
async def list_activities(
    session: SessionDep,
    _key: ReadKey,
    theme: Theme | None = None,
    status: ActivityStatus | None = None,
    secretariat: Annotated[
        SecretariatCode | None, Query(description="Lead or partner secretariat")
    ] = None,
    species: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=200,
            description="A scientific name (any case); its synonyms in either convention's "
            "taxonomy match too",
        ),
    ] = None,
    taxon: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=200,
            description="A taxon (e.g. a family, `Elephantidae`): activities on any species "
            "below it in either convention's taxonomy",
        ),
    ] = None,
    meeting_code: Annotated[MeetingCode | None, Query()] = None,
    updated_since: Timestamp | None = None,
    q: Annotated[
        str | None,
        Query(
            min_length=1, max_length=200, description="Full-text search in title and description"
        ),
    ] = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Response:
    items, next_cursor = await service.list_activities(
        session,
        theme=theme,
        status=status,
        secretariat=secretariat,
        species=species,
        taxon=taxon,
        meeting_code=meeting_code,
        updated_since=updated_since,
        q=q,
        cursor=cursor,
        limit=limit,
    )
    return page_response(items, next_cursor)


@router.post(
    "",
    status_code=201,
    summary="Create a joint activity",
    response_model=ActivityRead,
    responses=problems(409),
)
async def create_activity(
    request: Request,
    body: ActivityWrite,
    session: SessionDep,
    key: WriteKey,
    settings: SettingsDep,
) -> Response:
    async def produce() -> Response:
        activity = await service.create(session, key, body)
        return created_response(request, activity, "/v1/activities")

    return await idempotent(request, session, key, settings.idempotency_ttl_hours, produce)


@router.put(
    "/by-ref/{source}/{ext_id}",
    summary="Create or update the activity with this external reference",
    response_model=ActivityRead,
    responses={**problems(409), 201: {"description": "Created", "model": ActivityRead}},
)
async def upsert_activity(
    request: Request,
    source: RefSource,
    ext_id: RefId,
    body: ActivityWrite,
    session: SessionDep,
    key: WriteKey,
    secretariat: RefOwner = None,
) -> Response:
    owner = reference_owner(key, secretariat)
    activity, created = await service.upsert_by_ref(session, key, owner, source, ext_id, body)
    if created:
        return created_response(request, service.to_api(activity), "/v1/activities")
    return object_response(request, service.to_api(activity))


@router.get(
    "/{activity_id}",
    summary="One joint activity",
    response_model=ActivityRead,
    responses=problems(304, 404),
)
async def get_activity(
    request: Request, activity_id: uuid.UUID, session: SessionDep, _key: ReadKey
) -> Response:
    return object_response(request, await service.get(session, activity_id))


@router.patch(
    "/{activity_id}",
    summary="Change a joint activity (JSON merge patch)",
    response_model=ActivityRead,
    responses=problems(404, 409, 412),
)
async def patch_activity(
    request: Request,
    activity_id: uuid.UUID,
    body: ActivityUpdate,
    session: SessionDep,
    key: WriteKey,
) -> Response:
    activity = await service.patch(
        session,
        key,
        activity_id,
        body.model_dump(mode="json", exclude_unset=True),
        expected_version(request),
    )
    return object_response(request, service.to_api(activity))


@router.delete(
    "/{activity_id}",
    status_code=204,
    summary="Delete a joint activity",
    responses=problems(404, 412),
)
async def delete_activity(
    request: Request, activity_id: uuid.UUID, session: SessionDep, key: WriteKey
) -> Response:
    await service.delete_activity(session, key, activity_id, expected_version(request))
    return Response(status_code=204)
