"""API keys (admin)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from starlette.responses import Response

from services.api.auth import AdminKey, KeyCache, ReadKey
from services.api.conventions import json_response
from services.api.deps import SessionDep
from services.api.routing import problems
from shared.keys import service
from shared.keys.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyIdentity, ApiKeyRead
from shared.policy import SCOPES
from shared.schemas import Page

router = APIRouter(prefix="/api-keys", tags=["api keys"])


@router.get("", summary="List API keys", response_model=Page[ApiKeyRead], responses=problems())
async def list_keys(session: SessionDep, _key: AdminKey) -> Response:
    keys = await service.list_keys(session)
    return json_response({"items": [service.to_api(k) for k in keys], "next_cursor": None})


@router.get(
    "/me",
    summary="The calling key: its name, secretariat and scopes",
    description="Any key with the read scope may ask who it is, so a client (the dashboard) "
    "can show the key's own secretariat first and offer only the actions its scopes allow.",
    response_model=ApiKeyIdentity,
    responses=problems(),
)
async def who_am_i(key: ReadKey) -> Response:
    return json_response(
        {
            "id": key.key_id,
            "name": key.name,
            "secretariat": key.secretariat,
            "scopes": sorted(key.scopes, key=SCOPES.index),
        }
    )


@router.post(
    "",
    status_code=201,
    summary="Create an API key (the key is shown once, in this response)",
    description="Key names are unique, so a retried creation gives 409 rather than a second "
    "key. Idempotency-Key is not honoured here: replaying the response would mean storing "
    "the plain key.",
    response_model=ApiKeyCreated,
    responses=problems(409),
)
async def create_key(
    request: Request, body: ApiKeyCreate, session: SessionDep, _key: AdminKey
) -> Response:
    key, raw = await service.create_key(session, body.name, body.secretariat, body.scopes)
    cache: KeyCache = request.app.state.key_cache
    cache.issued(service.hash_key(raw))
    return json_response(
        {**service.to_api(key), "key": raw},
        201,
        {"Location": f"/v1/api-keys/{key.id}", "Cache-Control": "no-store"},
    )


@router.post(
    "/{key_id}/revoke",
    summary="Revoke an API key",
    response_model=ApiKeyRead,
    responses=problems(404),
)
async def revoke_key(
    request: Request, key_id: uuid.UUID, session: SessionDep, _key: AdminKey
) -> Response:
    key = await service.revoke_key(session, await service.get_key(session, key_id))
    cache: KeyCache = request.app.state.key_cache
    cache.clear()
    return json_response(service.to_api(key))
