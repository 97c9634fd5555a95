"""Calendars: duty stations' public holidays, secretariats' closures and working days."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from starlette.responses import Response

from services.api.auth import AdminKey, ReadKey, WriteKey
from services.api.conventions import json_response
from services.api.deps import SessionDep, SettingsDep
from services.api.routing import page_response, problems
from shared.calendars import service
from shared.calendars.schemas import (
    CalendarRead,
    ClosureCreate,
    ClosureRead,
    DutyStationRead,
    DutyStationWrite,
)
from shared.schemas import Page
from shared.types import LOCODE_PATTERN, SECRETARIAT_PATTERN, Day

router = APIRouter(tags=["calendars"])

Code = Annotated[str, Path(pattern=SECRETARIAT_PATTERN, max_length=16, examples=["CITES"])]
StationCode = Annotated[
    str, Path(pattern=LOCODE_PATTERN, min_length=6, max_length=6, examples=["CH GVA"])
]


@router.get(
    "/duty-stations",
    summary="List the duty stations and where their public holidays come from",
    response_model=Page[DutyStationRead],
    responses=problems(),
)
async def list_duty_stations(session: SessionDep, _key: ReadKey) -> Response:
    items = await service.list_duty_stations(session)
    return page_response([s.model_dump() for s in items], None)


@router.put(
    "/duty-stations/{locode}",
    summary="Set a duty station's country and subdivision (admin); matching runs again",
    response_model=DutyStationRead,
    responses={**problems(), 201: {"description": "Created", "model": DutyStationRead}},
)
async def put_duty_station(
    locode: StationCode, body: DutyStationWrite, session: SessionDep, _key: AdminKey
) -> Response:
    station, created = await service.put_duty_station(session, locode, body)
    return json_response(station.model_dump(), 201 if created else 200)


@router.get(
    "/secretariats/{code}/closures",
    summary="List a secretariat's closure days",
    response_model=Page[ClosureRead],
    responses=problems(404),
)
async def list_closures(code: Code, session: SessionDep, _key: ReadKey) -> Response:
    items = await service.list_closures(session, code)
    return page_response([c.model_dump(mode="json") for c in items], None)


@router.post(
    "/secretariats/{code}/closures",
    status_code=201,
    summary="Add a closure day with its reason (that secretariat or an admin); matching runs again",
    response_model=ClosureRead,
    responses=problems(404, 409),
)
async def add_closure(
    request: Request, code: Code, body: ClosureCreate, session: SessionDep, key: WriteKey
) -> Response:
    closure = await service.add_closure(session, key, code, body)
    return json_response(
        closure.model_dump(mode="json"),
        201,
        {"Location": f"{request.url.path}/{closure.date.isoformat()}"},
    )


@router.delete(
    "/secretariats/{code}/closures/{day}",
    status_code=204,
    summary="Remove a closure day (that secretariat or an admin); matching runs again",
    responses=problems(404),
)
async def remove_closure(code: Code, day: Day, session: SessionDep, key: WriteKey) -> Response:
    await service.remove_closure(session, key, code, day)
    return Response(status_code=204)


@router.get(
    "/secretariats/{code}/calendar",
    summary="A secretariat's working and non-working days, with the reason of each day off",
    response_model=CalendarRead,
    responses=problems(404),
)
async def get_calendar(
    code: Code,
    session: SessionDep,
    _key: ReadKey,
    settings: SettingsDep,
    from_: Annotated[Day, Query(alias="from", description="First day")],
    to: Annotated[Day, Query(description="Last day (at most 731 days after from)")],
) -> Response:
    cal = await service.calendar(session, code, settings.working_weekdays, from_, to)
    return json_response(cal.model_dump(mode="json"))
