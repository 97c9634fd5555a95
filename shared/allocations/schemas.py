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
    at: datetime
    actor: str = Field(description="API key name, or `matching` / `system` for the worker")
    action: str = Field(examples=["created", "updated", "accepted", "declined", "dropped"])
    version: int
    changes: dict[str, FieldChange] = Field(description="Changed fields: from what to what")
    reason: str | None
