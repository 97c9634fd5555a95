"""Workload request schemas."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, Literal

from pydantic import Field, StrictBool, StrictInt, model_validator

from shared.meetings.schemas import EXAMPLE as MEETING_EXAMPLE
from shared.models.workload_request import MAX_REQUEST_HOURS, MAX_WINDOW_DAYS
from shared.schemas import InputModel, MergePatch, OutputModel
from shared.types import (
    Day,
    ExternalRef,
    Locode,
    LongText,
    MeetingCode,
    Reason,
    SecretariatCode,
    Skills,
    Title,
    example_day,
)

Kind = Literal["ict", "staff"]
Priority = Literal["low", "normal", "high", "critical"]
RequestStatus = Literal["open", "partially_matched", "matched", "fulfilled", "cancelled", "expired"]

EXAMPLE: dict[str, Any] = {
    "secretariat": "CITES",
    "kind": "staff",
    "title": "Registration and documents desk for the Standing Committee",
    "description": "Two people to register participants and distribute in-session documents.",
    "skills": ["registration", "documents"],
    "start_date": example_day(8),
    "end_date": example_day(8, 4),
    "hours": 60,
    "priority": "high",
    "on_site": True,
    "location": "CH GVA",
    "meeting_code": MEETING_EXAMPLE["code"],
}


def check_window(start: date, end: date) -> None:
    """The rules every window follows: in order, at most 366 days."""
    if end < start:
        raise ValueError("end_date must not be before start_date")
    if (end - start).days >= MAX_WINDOW_DAYS:
        raise ValueError(f"the window must not be longer than {MAX_WINDOW_DAYS} days")


class WorkloadRequestWrite(InputModel):
    """The writable fields of a workload request (create, by-ref upsert)."""

    model_config = {"json_schema_extra": {"examples": [EXAMPLE]}}

    secretariat: SecretariatCode = Field(description="The asking secretariat (the key's own)")
    kind: Kind
    title: Title
    description: LongText = ""
    skills: Skills = Field(default_factory=list)
    start_date: Day
    end_date: Day
    hours: StrictInt = Field(ge=1, le=MAX_REQUEST_HOURS, description="Hours of support asked for")
    priority: Priority = "normal"
    on_site: StrictBool = False
    location: Locode | None = Field(default=None, description="Required when on_site")
    meeting_code: MeetingCode | None = None
    activity_id: uuid.UUID | None = None
    external_ref: ExternalRef | None = None

    @model_validator(mode="after")
    def _consistent(self) -> WorkloadRequestWrite:
        check_window(self.start_date, self.end_date)
        if self.on_site and self.location is None:
            raise ValueError("location is required when on_site is true")
        return self


class WorkloadRequestUpdate(MergePatch):
    """A JSON merge patch of a workload request's writable fields."""

    document = WorkloadRequestWrite
    model_config = {"json_schema_extra": {"examples": [{"hours": 80, "priority": "critical"}]}}

    secretariat: SecretariatCode | None = None
    kind: Kind | None = None
    title: Title | None = None
    description: LongText | None = None
    skills: Skills | None = None
    start_date: Day | None = None
    end_date: Day | None = None
    hours: StrictInt | None = Field(default=None, ge=1, le=MAX_REQUEST_HOURS)
    priority: Priority | None = None
    on_site: StrictBool | None = None
    location: Locode | None = None
    meeting_code: MeetingCode | None = None
    activity_id: uuid.UUID | None = None
    external_ref: ExternalRef | None = None


class CancelBody(InputModel):
    """Why a request is cancelled or an offer withdrawn (optional)."""

    reason: Reason | None = None


class WorkloadRequestRead(OutputModel):
    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    **EXAMPLE,
                    "id": "5b0e2c8a-1f3d-4e6a-9b7c-2d4f6a8b0c1e",
                    "activity_id": None,
                    "external_ref": None,
                    "status": "partially_matched",
                    "hours_proposed": 24,
                    "hours_accepted": 16,
                    "version": 4,
                    "created_at": "2026-01-05T09:00:00Z",
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
    hours: int
    priority: Priority
    on_site: bool
    location: str | None
    meeting_code: str | None
    activity_id: uuid.UUID | None
    external_ref: ExternalRef | None
    status: RequestStatus = Field(description="Follows the allocations (see the docs)")
    hours_proposed: int = Field(description="Hours in proposed allocations")
    hours_accepted: int = Field(description="Hours in accepted allocations")
    version: int
    created_at: datetime
    updated_at: datetime
