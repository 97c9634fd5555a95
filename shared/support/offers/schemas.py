"""Capacity offer schemas."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, Literal

from pydantic import (
    Field,
    StrictBool,
    StrictInt,
    ValidationInfo,
    field_validator,
    model_validator,
)

from shared.models.capacity_offer import MAX_HOURS_PER_DAY, MAX_OFFER_TOTAL_HOURS
from shared.schemas import InputModel, MergePatch, OutputModel
from shared.support.requests.schemas import Kind, check_window
from shared.types import (
    Day,
    ExternalRef,
    Locode,
    LongText,
    SecretariatCode,
    Skills,
    Title,
    example_day,
)

MAX_UNAVAILABLE_DATES = 366


def check_unavailable(start: date, end: date, days: list[date]) -> list[date]:
    """Unavailable dates sorted and without duplicates; each must lie in the window."""
    outside = sorted(d for d in set(days) if not start <= d <= end)
    if outside:
        raise ValueError(
            f"unavailable_dates must lie in the window; {outside[0].isoformat()} does not"
        )
    return sorted(set(days))


OfferStatus = Literal["active", "withdrawn"]

EXAMPLE: dict[str, Any] = {
    "secretariat": "CMS",
    "kind": "ict",
    "title": "AV technician for streamed sessions",
    "description": "One technician experienced with hybrid meetings.",
    "skills": ["av-streaming", "network"],
    "start_date": example_day(8),
    "end_date": example_day(9, 4),
    "hours_per_day": 6,
    "total_hours": 40,
    "location": "DE BON",
    "travel_ok": True,
}


class CapacityOfferWrite(InputModel):
    """The writable fields of a capacity offer (create, by-ref upsert)."""

    model_config = {"json_schema_extra": {"examples": [EXAMPLE]}}

    secretariat: SecretariatCode = Field(description="The offering secretariat (the key's own)")
    kind: Kind
    title: Title
    description: LongText = ""
    skills: Skills = Field(default_factory=list)
    start_date: Day
    end_date: Day
    hours_per_day: StrictInt = Field(ge=1, le=MAX_HOURS_PER_DAY)
    total_hours: StrictInt = Field(ge=1, le=MAX_OFFER_TOTAL_HOURS)
    location: Locode | None = Field(default=None, description="Where the people work")
    travel_ok: StrictBool = Field(default=False, description="May travel to on-site work elsewhere")
    unavailable_dates: list[Day] = Field(
        default_factory=list,
        max_length=MAX_UNAVAILABLE_DATES,
        description="Days in the window on which the people offered are away (leave, missions)",
        examples=[["2026-02-09"]],
    )
    external_ref: ExternalRef | None = None

    @field_validator("unavailable_dates")
    @classmethod
    def _in_window(cls, value: list[date], info: ValidationInfo) -> list[date]:
        start, end = info.data.get("start_date"), info.data.get("end_date")
        if start is None or end is None:
            return value
        return check_unavailable(start, end, value)

    @model_validator(mode="after")
    def _consistent(self) -> CapacityOfferWrite:
        check_window(self.start_date, self.end_date)
        return self


class CapacityOfferUpdate(MergePatch):
    """A JSON merge patch of a capacity offer's writable fields."""

    document = CapacityOfferWrite
    model_config = {"json_schema_extra": {"examples": [{"total_hours": 24}]}}

    secretariat: SecretariatCode | None = None
    kind: Kind | None = None
    title: Title | None = None
    description: LongText | None = None
    skills: Skills | None = None
    start_date: Day | None = None
    end_date: Day | None = None
    hours_per_day: StrictInt | None = Field(default=None, ge=1, le=MAX_HOURS_PER_DAY)
    total_hours: StrictInt | None = Field(default=None, ge=1, le=MAX_OFFER_TOTAL_HOURS)
    location: Locode | None = None
    travel_ok: StrictBool | None = None
    unavailable_dates: list[Day] | None = Field(default=None, max_length=MAX_UNAVAILABLE_DATES)
    external_ref: ExternalRef | None = None


class CapacityOfferRead(OutputModel):
    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    **EXAMPLE,
                    "id": "0c6f1d2e-7a8b-4c9d-8e0f-1a2b3c4d5e6f",
                    "external_ref": {"source": "cms-hr", "id": "OFF-12"},
                    "status": "active",
                    "hours_proposed": 12,
                    "hours_accepted": 18,
                    "version": 3,
                    "created_at": "2026-01-05T10:00:00Z",
                    "updated_at": "2026-01-07T14:20:00Z",
                }
            ]
        }
    }

    id: uuid.UUID
    secretariat: str
    kind: Kind
    title: str
    description: str
    skills: list[str]
    start_date: date
    end_date: date
    hours_per_day: int
    total_hours: int
    location: str | None
    travel_ok: bool
    unavailable_dates: list[date] = Field(description="Days in the window nobody works")
    external_ref: ExternalRef | None
    status: OfferStatus
    hours_proposed: int = Field(description="Hours in proposed allocations")
    hours_accepted: int = Field(description="Hours in accepted allocations")
    version: int
    created_at: datetime
    updated_at: datetime
