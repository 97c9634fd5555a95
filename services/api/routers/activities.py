"""The register of joint activities."""

from __future__ import annotations

import re
import uuid
from typing import Annotated

import orjson
from fastapi import APIRouter, Query, Request
from pydantic import ValidationError
from starlette.responses import Response

from services.api.auth import ReadKey, WriteKey, edge_principal
from services.api.conventions import expected_version, idempotent, is_json, object_response
from services.api.deps import SessionDep, SettingsDep, request_session
from services.api.fastpath import FastRoute
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
from shared.pagination import MAX_LIMIT
from shared.policy import Principal, reference_owner
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
    return await _create(request, session, key, body, settings.idempotency_ttl_hours)


async def _create(
    request: Request, session: SessionDep, key: Principal, body: ActivityWrite, ttl_hours: int
) -> Response:
    async def produce() -> Response:
        activity = await service.create(session, key, body)
        return created_response(request, activity, "/v1/activities")

    return await idempotent(request, session, key, ttl_hours, produce)


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


# The plain forms of the three requests other systems send most, answered by
# services/api/fastpath.py with the services and helpers the routes above use; anything else
# (other filters, HEAD, a body that does not validate...) is answered by those routes.
_UUID = "[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"
_PAGE_QUERY = {
    "limit": re.compile(f"[1-9][0-9]{{0,{len(str(MAX_LIMIT)) - 1}}}"),
    # Cursors the service hands out are unpadded base64url.
    "cursor": re.compile("[A-Za-z0-9_-]{1,512}"),
}


async def _fast_list(request: Request, params: dict[str, str]) -> Response | None:
    limit = int(params.get("limit", "50"))
    if limit > MAX_LIMIT:
        return None
    async with request_session(request.app.state, transaction=False) as session:
        items, next_cursor = await service.list_activities(
            session, cursor=params.get("cursor"), limit=limit
        )
    return page_response(items, next_cursor)


async def _fast_get(request: Request, params: dict[str, str]) -> Response:
    activity_id = uuid.UUID(params["activity_id"])
    async with request_session(request.app.state, transaction=False) as session:
        return object_response(request, await service.get(session, activity_id))


async def _fast_create(request: Request, _params: dict[str, str]) -> Response | None:
    if not is_json(request.headers.get("content-type")):
        return None
    try:
        body = ActivityWrite.model_validate(orjson.loads(await request.body()))
    except (orjson.JSONDecodeError, ValidationError):
        return None
    state = request.app.state
    # Without an Idempotency-Key (whose record is written with the activity), a create is a
    # read of the codes it names and one write: no BEGIN and COMMIT for it.
    transaction = "idempotency-key" in request.headers or service.create_needs_transaction(body)
    async with request_session(state, transaction=transaction) as session:
        return await _create(
            request, session, edge_principal(request), body, state.settings.idempotency_ttl_hours
        )


fast_routes = (
    FastRoute(
        "list_activities",
        "GET",
        re.compile("/v1/activities"),
        "read",
        _fast_list,
        query=_PAGE_QUERY,
    ),
    FastRoute(
        "get_activity",
        "GET",
        re.compile(f"/v1/activities/(?P<activity_id>{_UUID})"),
        "read",
        _fast_get,
    ),
    FastRoute(
        "create_activity",
        "POST",
        re.compile("/v1/activities"),
        "write",
        _fast_create,
        reads_body=True,
    ),
)
