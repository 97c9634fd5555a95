"""The figures a workload coordinator looks at (read scope). How hours are attributed to
weeks and what each figure counts is written in shared/stats/service.py."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query
from starlette.responses import Response

from services.api.auth import ReadKey
from services.api.conventions import json_response
from services.api.deps import SessionDep, SettingsDep
from services.api.routing import problems
from shared.activities.schemas import Theme
from shared.stats import service
from shared.stats.schemas import (
    ActivityStats,
    CapacityStats,
    DateRange,
    ExchangeStats,
    MeetingStats,
    SupportQuery,
    UnmetSkillStats,
    WorkloadStats,
)
from shared.types import Day, SecretariatCode

router = APIRouter(prefix="/stats", tags=["stats"])

From = Annotated[Day | None, Query(alias="from", description="First day of the range")]
To = Annotated[Day | None, Query(description="Last day of the range (inclusive)")]


def support_query(
    settings: SettingsDep,
    from_: From = None,
    to: To = None,
    secretariat: Annotated[SecretariatCode | None, Query()] = None,
    kind: Annotated[Literal["ict", "staff"] | None, Query(description="ICT or staff")] = None,
) -> SupportQuery:
    """The filters every support figure takes."""
    return SupportQuery(
        DateRange(from_, to),
        secretariat,
        kind,
        tuple(sorted(d + 1 for d in settings.working_weekdays)),
    )


SupportQueryDep = Annotated[SupportQuery, Depends(support_query)]


@router.get(
    "/activities",
    summary="Joint activities by theme, status and lead secretariat; species most covered",
    response_model=ActivityStats,
    responses=problems(),
)
async def activity_stats(
    session: SessionDep,
    _key: ReadKey,
    from_: From = None,
    to: To = None,
    secretariat: Annotated[
        SecretariatCode | None, Query(description="Activities it leads or partners in")
    ] = None,
    theme: Theme | None = None,
    species_limit: Annotated[int, Query(ge=1, le=100, description="How many species to list")] = 10,
) -> Response:
    """An activity counts when its period overlaps the range (a missing date is open-ended)."""
    figures = await service.activity_stats(
        session,
        DateRange(from_, to),
        secretariat=secretariat,
        theme=theme,
        species_limit=species_limit,
    )
    return json_response(figures)


@router.get(
    "/workload",
    summary="Hours requested, proposed and accepted, open requests and unmet hours per week",
    response_model=WorkloadStats,
    responses=problems(),
)
async def workload_stats(session: SessionDep, _key: ReadKey, query: SupportQueryDep) -> Response:
    """Per ISO week, asking secretariat and kind. Requested and unmet hours are spread evenly
    over the working days of each request's window; proposed and accepted hours count on
    the days of their allocations. The range keeps the days inside it."""
    return json_response(await service.workload_stats(session, query))


@router.get(
    "/capacity",
    summary="Hours offered, proposed and accepted, and utilisation, per offer and secretariat",
    response_model=CapacityStats,
    responses=problems(),
)
async def capacity_stats(session: SessionDep, _key: ReadKey, query: SupportQueryDep) -> Response:
    """Offered hours are what an offer can give in the range (hours per day on each working
    day of its window, at most its total); proposed and accepted hours are those of its
    allocations on days in the range; utilisation = accepted / offered."""
    return json_response(await service.capacity_stats(session, query))


@router.get(
    "/unmet-skills",
    summary="The skills with the most unmet hours, and the requests behind them",
    response_model=UnmetSkillStats,
    responses=problems(),
)
async def unmet_skill_stats(
    session: SessionDep,
    _key: ReadKey,
    query: SupportQueryDep,
    limit: Annotated[int, Query(ge=1, le=100, description="How many skills")] = 10,
    requests_per_skill: Annotated[
        int, Query(ge=0, le=50, description="How many requests to list per skill")
    ] = 5,
) -> Response:
    """Unmet hours are hours asked for and not accepted, of requests not cancelled whose
    window overlaps the range; a request counts under each skill it needs."""
    figures = await service.unmet_skill_stats(
        session, query, limit=limit, requests_per_skill=requests_per_skill
    )
    return json_response(figures)


@router.get(
    "/exchange",
    summary="Hours each secretariat gave to and received from each other one; remote share",
    response_model=ExchangeStats,
    responses=problems(),
)
async def exchange_stats(session: SessionDep, _key: ReadKey, query: SupportQueryDep) -> Response:
    """Allocation hours on days in the range; `secretariat` keeps the exchanges it takes
    part in. The remote share is the part of the accepted hours for work not on site."""
    return json_response(await service.exchange_stats(session, query))


@router.get(
    "/meetings/{meeting}",
    summary="The support around one meeting, and the joint activities reported to it",
    response_model=MeetingStats,
    responses=problems(404),
)
async def meeting_stats(
    session: SessionDep,
    _key: ReadKey,
    meeting: Annotated[
        str, Path(max_length=64, description="The meeting's id or its code (e.g. `CITES SC61`)")
    ],
    query: SupportQueryDep,
) -> Response:
    """Requests linked to the meeting (window overlapping the range, of the secretariat and
    kind given), their helpers and hours; activities reported to it."""
    return json_response(await service.meeting_stats(session, meeting, query))
