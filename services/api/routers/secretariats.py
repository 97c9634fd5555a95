"""Secretariats: the organisations taking part."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from services.api.auth import AdminKey, ReadKey
from services.api.conventions import idempotent, json_response
from services.api.deps import SessionDep, SettingsDep
from services.api.routing import page_response, problems
from shared.schemas import Page
from shared.secretariats import service
from shared.secretariats.schemas import SecretariatCreate, SecretariatRead

router = APIRouter(prefix="/secretariats", tags=["secretariats"])


@router.get(
    "", summary="List the secretariats", response_model=Page[SecretariatRead], responses=problems()
)
async def list_secretariats(session: SessionDep, _key: ReadKey) -> Response:
    items = await service.list_secretariats(session)
    return page_response([s.model_dump() for s in items], None)


@router.post(
    "",
    status_code=201,
    summary="Add a secretariat (admin)",
    response_model=SecretariatRead,
    responses=problems(409),
)
async def create_secretariat(
    request: Request,
    body: SecretariatCreate,
    session: SessionDep,
    _key: AdminKey,
    settings: SettingsDep,
) -> Response:
    async def produce() -> Response:
        created = await service.create(session, body)
        return json_response(created.model_dump(), 201, {"Location": "/v1/secretariats"})

    return await idempotent(request, session, _key, settings.idempotency_ttl_hours, produce)
