"""Filters and response models of the stats endpoints."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from pydantic import Field

from shared.activities.schemas import ActivityStatus, Theme
from shared.errors import Unprocessable
from shared.schemas import OutputModel


@dataclass(frozen=True, slots=True)
class DateRange:
    """Both days inclusive; None on either side leaves that side open."""

    start: date | None = None
    end: date | None = None

    def __post_init__(self) -> None:
        if self.start and self.end and self.end < self.start:
            raise Unprocessable(
                "The date range ends before it starts.",
                errors=[
                    {"field": "query.to", "message": "must not be before from", "type": "range"}
                ],
            )


class ActivityFilters(OutputModel):
    """The filters the figures were computed with (null: not filtered)."""

    from_: date | None = Field(alias="from")
    to: date | None
    secretariat: str | None
    theme: Theme | None


class ThemeCount(OutputModel):
    theme: Theme
    activities: int
    by_status: dict[ActivityStatus, int] = Field(
        description="Activities of this theme in each status (every status present)"
    )


class StatusCount(OutputModel):
    status: ActivityStatus
    activities: int


class SecretariatCount(OutputModel):
    secretariat: str
    activities: int


class SpeciesCount(OutputModel):
    species: str = Field(examples=["Loxodonta africana"])
    activities: int = Field(description="Activities covering this species")


class ActivityStats(OutputModel):
    """Joint activities by theme, status and lead secretariat; the species most covered."""

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "filters": {"from": None, "to": None, "secretariat": None, "theme": None},
                    "total": 8,
                    "by_theme": [
                        {
                            "theme": "species",
                            "activities": 4,
                            "by_status": {"planned": 0, "ongoing": 4, "completed": 0, "dropped": 0},
                        }
                    ],
                    "by_status": [{"status": "ongoing", "activities": 7}],
                    "by_lead_secretariat": [{"secretariat": "CMS", "activities": 4}],
                    "species": [{"species": "Loxodonta africana", "activities": 1}],
                }
            ]
        }
    }

    filters: ActivityFilters
    total: int
    by_theme: list[ThemeCount] = Field(description="Every theme, in the register's order")
    by_status: list[StatusCount] = Field(description="Every status, in lifecycle order")
    by_lead_secretariat: list[SecretariatCount] = Field(
        description="Lead secretariats with at least one activity, most activities first"
    )
    species: list[SpeciesCount] = Field(
        description="The species most often covered, most activities first, then by name"
    )
