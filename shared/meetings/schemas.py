"""Meeting schemas."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from shared.schemas import InputModel, MergePatch, OutputModel
from shared.types import (
    Day,
    ExternalRef,
    Locode,
    MeetingCode,
    SecretariatCode,
    ShortText,
    Title,
    example_day,
)

MeetingStatus = Literal["scheduled", "cancelled"]

EXAMPLE: dict[str, Any] = {
    # The Animals Committee: the demo set (`tandem seed-demo`) names Standing Committees and
    # Conferences of the Parties only, so in no year does it hold this code already.
    "code": "CITES AC34",
    "title": "Thirty-fourth meeting of the CITES Animals Committee",
    "secretariat": "CITES",
    "body": "Animals Committee",
    "location": "CH GVA",
    "start_date": example_day(8),
    "end_date": example_day(8, 4),
}

# A meeting's own code, documented with a code to give a new meeting: MeetingCode's example
# names a meeting held already (and in the demo set), which references to meetings may use.
NewMeetingCode = Annotated[MeetingCode, Field(examples=[EXAMPLE["code"]])]


class MeetingWrite(InputModel):
    """The writable fields of a meeting, all required (create, by-ref upsert)."""

    model_config = {"json_schema_extra": {"examples": [EXAMPLE]}}

    code: NewMeetingCode
    title: Title
    secretariat: SecretariatCode = Field(description="The secretariat that holds the meeting")
    body: ShortText = Field(description="Governing body, e.g. Conference of the Parties")
    location: Locode
    start_date: Day
    end_date: Day
    external_ref: ExternalRef | None = None

    @model_validator(mode="after")
    def _dates_ordered(self) -> MeetingWrite:
        if self.end_date < self.start_date:
            raise ValueError("end_date must not be before start_date")
        return self


class MeetingUpdate(MergePatch):
    """A JSON merge patch of a meeting's writable fields."""

    document = MeetingWrite
    model_config = {"json_schema_extra": {"examples": [{"title": "AC34 (resumed)"}]}}

    code: NewMeetingCode | None = None
    title: Title | None = None
    secretariat: SecretariatCode | None = None
    body: ShortText | None = None
    location: Locode | None = None
    start_date: Day | None = None
    end_date: Day | None = None
    external_ref: ExternalRef | None = None


class MeetingRead(OutputModel):
    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    **EXAMPLE,
                    "id": "3f0c6a52-8f1e-4b9e-a4f4-2f3d7f0e9b11",
                    "status": "scheduled",
                    "external_ref": None,
                    "version": 1,
                    "created_at": "2026-11-28T09:00:00Z",
                    "updated_at": "2026-11-28T09:00:00Z",
                }
            ]
        }
    }

    id: uuid.UUID
    code: str
    title: str
    secretariat: str
    body: str
    location: str
    start_date: date
    end_date: date
    status: MeetingStatus
    external_ref: ExternalRef | None
    version: int
    created_at: datetime
    updated_at: datetime
