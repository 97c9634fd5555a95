"""Forecast: expected support hours around upcoming meetings, and the shortfall."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Path, Query
from starlette.responses import Response

from services.api.auth import ReadKey
from services.api.conventions import json_response
from services.api.deps import SessionDep, SettingsDep
from services.api.routing import problems
from shared.forecast import service
from shared.forecast.schemas import MeetingForecast, Shortfall
from shared.types import Day, SecretariatCode

router = APIRouter(prefix="/forecast", tags=["forecast"])


@router.get(
    "/meetings/{meeting}",
    summary="Expected support hours of a meeting by kind, skill and week, from past meetings",
    response_model=MeetingForecast,
    responses=problems(404),
)
async def get_meeting_forecast(
    meeting: Annotated[str, Path(max_length=40, description="The meeting's code")],
    session: SessionDep,
    _key: ReadKey,
) -> Response:
    fc = await service.meeting_forecast(session, meeting)
    return json_response(fc.model_dump(mode="json"))


@router.get(
    "/shortfall",
    summary="Expected hours per skill and week around the meetings of a period, against what "
    "is offered and accepted",
    response_model=Shortfall,
    responses=problems(),
)
async def get_shortfall(
    session: SessionDep,
    _key: ReadKey,
    settings: SettingsDep,
    from_: Annotated[Day | None, Query(alias="from", description="First day (today)")] = None,
    to: Annotated[Day | None, Query(description="Last day (26 weeks after from)")] = None,
    secretariat: SecretariatCode | None = None,
) -> Response:
    start = from_ or date.today()
    end = to or start + timedelta(weeks=26)
    result = await service.shortfall(session, settings.working_weekdays, start, end, secretariat)
    return json_response(result.model_dump(mode="json", by_alias=True))
