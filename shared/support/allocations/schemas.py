"""Allocation and history schemas."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, Literal

from pydantic import Field

from shared.schemas import InputModel, OutputModel
from shared.types import Reason

AllocationStatus = Literal["proposed", "accepted", "declined", "cancelled"]


class AllocationDayRead(OutputModel):
    date: date
    hours: int


class AllocationRead(OutputModel):
    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "id": "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d",
                    "request_id": "5b0e2c8a-1f3d-4e6a-9b7c-2d4f6a8b0c1e",
                    "offer_id": "0c6f1d2e-7a8b-4c9d-8e0f-1a2b3c4d5e6f",
                    "hours": 12,
                    "days": [
                        {"date": "2026-02-02", "hours": 6},
                        {"date": "2026-02-03", "hours": 6},
                    ],
                    "travel": True,
                    "status": "accepted",
                    "matching_run_id": "1d2c3b4a-5f6e-4d7c-9b8a-0f1e2d3c4b5a",
                    "decided_at": "2026-01-07T14:20:00Z",
                    "decided_by": "cms-coordinator",
                    "reason": "Jonas will travel to Geneva",
                    "version": 2,
                    "created_at": "2026-01-06T08:00:00Z",
                    "updated_at": "2026-01-07T14:20:00Z",
                }
            ]
        }
    }

    id: uuid.UUID
    request_id: uuid.UUID
    offer_id: uuid.UUID
    hours: int
    days: list[AllocationDayRead] = Field(description="The day-by-day schedule, by date")
    travel: bool = Field(description="Eligible only because the offer travels")
    status: AllocationStatus
    matching_run_id: uuid.UUID | None
    decided_at: datetime | None
    decided_by: str | None = Field(description="Name of the API key that decided")
    reason: str | None
    version: int
    created_at: datetime
    updated_at: datetime


class AcceptBody(InputModel):
    """An optional note on an acceptance."""

    model_config = {"json_schema_extra": {"examples": [{"reason": "Maria and Jonas will go"}]}}

    reason: Reason | None = None


class ReasonBody(InputModel):
    """Why an allocation is declined or cancelled (required)."""

    model_config = {"json_schema_extra": {"examples": [{"reason": "Team busy with our CoP"}]}}

    reason: Reason


class FieldChange(OutputModel):
    from_: Any = Field(alias="from")
    to: Any


class HistoryEntryRead(OutputModel):
    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "at": "2026-01-07T14:20:00Z",
                    "actor": "cms-coordinator",
                    "action": "accepted",
                    "version": 2,
                    "changes": {"status": {"from": "proposed", "to": "accepted"}},
                    "reason": "Jonas will travel to Geneva",
                }
            ]
        }
    }

    at: datetime
    actor: str = Field(description="API key name, or `matching` / `system` for the worker")
    action: str = Field(examples=["created", "updated", "accepted", "declined", "dropped"])
    version: int
    changes: dict[str, FieldChange] = Field(description="Changed fields: from what to what")
    reason: str | None
