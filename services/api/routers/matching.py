"""Matching runs."""

from __future__ import annotations

import datetime as dt
import uuid
from datetime import datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from services.api.auth import AdminKey, ReadKey
from services.api.deps import SessionDep
from services.api.routing import Cursor, Limit, problems
from shared.matching import service
from shared.schemas import Page

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


@router.get(
    "/runs",
    summary="Matching runs, newest first",
    response_model=Page[MatchingRunRead],
    responses=problems(400),
)
async def list_runs(
    session: SessionDep, _key: ReadKey, cursor: Cursor = None, limit: Limit = 50
) -> Page[MatchingRunRead]:
    runs, next_cursor = await service.list_runs(session, limit=limit, cursor=cursor)
    return Page[MatchingRunRead](
        items=[MatchingRunRead.model_validate(r) for r in runs], next_cursor=next_cursor
    )


class MatchingStatusRead(BaseModel):
    last_run: MatchingRunRead | None = Field(
        description="The newest matching run, whatever its status (null before the first)"
    )
    pending_triggers: int = Field(
        ge=0, description="Changes recorded since the last run that no run has handled yet"
    )


@router.get(
    "/status",
    summary="The last matching run and the number of pending triggers",
    responses=problems(),
)
async def matching_status(session: SessionDep, _key: ReadKey) -> MatchingStatusRead:
    last_run, pending = await service.status(session)
    return MatchingStatusRead(
        last_run=MatchingRunRead.model_validate(last_run) if last_run else None,
        pending_triggers=pending,
    )


class DayHours(BaseModel):
    date: dt.date
    hours: int


class PreviewChangeRead(BaseModel):
    request_id: uuid.UUID
    offer_id: uuid.UUID
    hours: int
    previous_hours: int
    days: list[DayHours]


class PreviewRead(BaseModel):
    added: list[PreviewChangeRead]
    changed: list[PreviewChangeRead]
    dropped: list[PreviewChangeRead]
    unchanged: int
    figures: dict[str, Any]


def _change(c: service.PreviewChange) -> PreviewChangeRead:
    return PreviewChangeRead(
        request_id=c.request_id,
        offer_id=c.offer_id,
        hours=c.hours,
        previous_hours=c.previous_hours,
        days=[DayHours(date=d, hours=h) for d, h in c.days],
    )


@router.post(
    "/preview",
    summary="What a matching run would change now, without writing anything (admin)",
    responses=problems(),
)
async def preview(session: SessionDep, _key: AdminKey) -> PreviewRead:
    p = await service.preview(session)
    return PreviewRead(
        added=[_change(c) for c in p.added],
        changed=[_change(c) for c in p.changed],
        dropped=[_change(c) for c in p.dropped],
        unchanged=p.unchanged,
        figures=p.figures,
    )


@router.get("/runs/{run_id}", summary="One matching run with its figures", responses=problems(404))
async def get_run(run_id: uuid.UUID, session: SessionDep, _key: ReadKey) -> MatchingRunRead:
    return MatchingRunRead.model_validate(await service.get_run(session, run_id))
