"""Secretariats: the organisations taking part."""

from __future__ import annotations

from fastapi import APIRouter

from services.api.deps import SessionDep
from shared.schemas import Page
from shared.secretariats import service
from shared.secretariats.schemas import SecretariatRead

router = APIRouter(prefix="/secretariats", tags=["secretariats"])


@router.get("", summary="List the secretariats")
async def list_secretariats(session: SessionDep) -> Page[SecretariatRead]:
    return Page(items=await service.list_secretariats(session), next_cursor=None)
