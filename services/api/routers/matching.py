"""Matching runs."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict

from services.api.auth import AdminKey, ReadKey
from services.api.deps import SessionDep
from services.api.routing import problems
from shared.matching import service

router = APIRouter(prefix="/matching", tags=["matching"])


class MatchingRunRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    trigger: str
    status: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    figures: dict[str, Any]
    error: str | None


@router.post("/runs", status_code=202, summary="Queue a matching run (admin)", responses=problems())
async def queue_run(session: SessionDep, _key: AdminKey) -> MatchingRunRead:
    run = await service.queue_run(session, trigger="api")
    return MatchingRunRead.model_validate(run)


@router.get("/runs/{run_id}", summary="One matching run with its figures", responses=problems(404))
async def get_run(run_id: uuid.UUID, session: SessionDep, _key: ReadKey) -> MatchingRunRead:
    return MatchingRunRead.model_validate(await service.get_run(session, run_id))
