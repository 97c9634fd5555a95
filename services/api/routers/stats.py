"""The figures a workload coordinator looks at (read scope)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from starlette.responses import Response

from services.api.auth import ReadKey
from services.api.conventions import json_response
from services.api.deps import SessionDep
from services.api.routing import problems
from shared.activities.schemas import Theme
from shared.stats import service
from shared.stats.schemas import ActivityStats, DateRange
from shared.types import Day, SecretariatCode

router = APIRouter(prefix="/stats", tags=["stats"])

From = Annotated[Day | None, Query(alias="from", description="First day of the range")]
To = Annotated[Day | None, Query(description="Last day of the range (inclusive)")]


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
