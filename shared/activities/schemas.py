"""Joint activity schemas."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints, field_validator, model_validator

from shared.meetings.schemas import EXAMPLE as MEETING_EXAMPLE
from shared.meetings.schemas import MeetingRead
from shared.schemas import InputModel, MergePatch, OutputModel
from shared.taxa.schemas import SpeciesResolution
from shared.types import (
    Day,
    ExternalRef,
    LongText,
    MeetingCode,
    SecretariatCode,
    Tag,
    Title,
)

Theme = Literal[
    "species",
    "listings_nomenclature",
    "governing_bodies",
    "nbsap",
    "funding",
    "liaison",
    "administration",
    "other",
]
ActivityStatus = Literal["planned", "ongoing", "completed", "dropped"]
ScientificName = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        min_length=2,
        max_length=200,
        pattern=r"^[A-Z][a-z]+( [A-Za-z.-]+){0,4}$",
    ),
    Field(examples=["Loxodonta africana"]),
]

EXAMPLE: dict[str, Any] = {
    "title": "Joint work on the African elephant",
    "description": "Coordinated support to range States on Loxodonta africana.",
    "theme": "species",
    "species": ["Loxodonta africana"],
    "lead_secretariat": "CMS",
    "partner_secretariats": ["CITES"],
    "status": "ongoing",
    "start_date": "2011-01-01",
    "end_date": "2014-12-31",
    "meeting_codes": [MEETING_EXAMPLE["code"]],
    "tags": ["elephants"],
}


def _unique(values: list[str], field: str) -> list[str]:
    seen: set[str] = set()
    out = []
    for v in values:
        key = v.lower()
        if key in seen:
            raise ValueError(f"{field} lists {v!r} twice")
        seen.add(key)
        out.append(v)
    return out


class ActivityWrite(InputModel):
    """The writable fields of a joint activity (create, by-ref upsert)."""

    model_config = {"json_schema_extra": {"examples": [EXAMPLE]}}

    title: Title
    description: LongText = ""
    theme: Theme
    species: list[ScientificName] = Field(default_factory=list, max_length=100)
    lead_secretariat: SecretariatCode
    partner_secretariats: list[SecretariatCode] = Field(default_factory=list, max_length=30)
    status: ActivityStatus = "planned"
    start_date: Day | None = None
    end_date: Day | None = None
    meeting_codes: list[MeetingCode] = Field(default_factory=list, max_length=50)
    tags: list[Tag] = Field(default_factory=list, max_length=20)
    external_ref: ExternalRef | None = None

    @field_validator("species", "partner_secretariats", "meeting_codes", "tags")
    @classmethod
    def _no_duplicates(cls, value: list[str], info) -> list[str]:  # type: ignore[no-untyped-def]
        return _unique(value, info.field_name)

    @model_validator(mode="after")
    def _consistent(self) -> ActivityWrite:
        if self.start_date and self.end_date and self.end_date < self.start_date:
            raise ValueError("end_date must not be before start_date")
        if self.lead_secretariat in self.partner_secretariats:
            raise ValueError("the lead secretariat cannot also be a partner")
        return self


class ActivityUpdate(MergePatch):
    """A JSON merge patch of an activity's writable fields."""

    document = ActivityWrite
    model_config = {"json_schema_extra": {"examples": [{"status": "completed"}]}}

    title: Title | None = None
    description: LongText | None = None
    theme: Theme | None = None
    species: list[ScientificName] | None = Field(default=None, max_length=100)
    lead_secretariat: SecretariatCode | None = None
    partner_secretariats: list[SecretariatCode] | None = Field(default=None, max_length=30)
    status: ActivityStatus | None = None
    start_date: Day | None = None
    end_date: Day | None = None
    meeting_codes: list[MeetingCode] | None = Field(default=None, max_length=50)
    tags: list[Tag] | None = Field(default=None, max_length=20)
    external_ref: ExternalRef | None = None


class ActivityRead(OutputModel):
    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    **EXAMPLE,
                    "id": "8d7f3c1e-2b4a-4f6e-9c0d-1a2b3c4d5e6f",
                    "external_ref": {"source": "cms-website", "id": "activity-1234"},
                    "species_resolved": [
                        {
                            "name": "Loxodonta africana",
                            "status": "resolved",
                            "conventions": {
                                "CITES": [
                                    {
                                        "id": "2f1c6a0e-8c1d-5d8e-9a51-3b0f4c6d7e81",
                                        "full_name": "Loxodonta africana",
                                        "source_id": 4521,
                                        "via_synonym": False,
                                    }
                                ],
                                "CMS": [],
                            },
                        }
                    ],
                    "version": 3,
                    "created_at": "2026-11-28T09:00:00Z",
                    "updated_at": "2026-11-28T10:30:00Z",
                }
            ]
        }
    }

    id: uuid.UUID
    title: str
    description: str
    theme: Theme
    species: list[str]
    lead_secretariat: str
    partner_secretariats: list[str]
    status: ActivityStatus
    start_date: date | None
    end_date: date | None
    meeting_codes: list[str]
    tags: list[str]
    external_ref: ExternalRef | None
    species_resolved: list[SpeciesResolution] = Field(
        default_factory=list,
        description="What each of `species` stands for in each convention's taxonomy, in the "
        "same order (the names themselves are kept as written); shown when an activity is "
        "read (GET), not in write responses or the change feed, as it follows the registers",
    )
    version: int
    created_at: datetime
    updated_at: datetime


class ThemeGroup(OutputModel):
    theme: Theme
    activities: list[ActivityRead]


class MeetingActivities(OutputModel):
    meeting: MeetingRead
    themes: list[ThemeGroup]
    total: int
