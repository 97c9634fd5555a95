"""Webhook subscription and delivery schemas."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal, get_args

from pydantic import Field, StringConstraints, field_validator

from shared.feed.events import EVENT_TYPES
from shared.schemas import InputModel, MergePatch, OutputModel
from shared.types import LINE_PATTERN

EventType = Literal[
    "allocation.proposed",
    "allocation.accepted",
    "allocation.declined",
    "allocation.cancelled",
    "workload_request.matched",
    "workload_request.fulfilled",
    "workload_request.expired",
    "activity.changed",
]
assert set(get_args(EventType)) == set(EVENT_TYPES), "EventType and events.EVENT_TYPES differ"

AttemptOutcome = Literal["delivered", "retry", "failed"]
DeliveryStatus = Literal["pending", "delivered", "failed"]

TargetUrl = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=8, max_length=2048),
    Field(
        description="https URL (http only for hosts in WEBHOOK_ALLOWED_HOSTS); it must not "
        "resolve to a loopback, link-local, private or reserved address",
        examples=["https://cms.example.org/hooks/tandem"],
        json_schema_extra={"pattern": LINE_PATTERN},
    ),
]
Description = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=300),
    Field(json_schema_extra={"pattern": LINE_PATTERN}),
]
EventList = Annotated[list[EventType], Field(min_length=1, max_length=len(EVENT_TYPES))]


def _unique(events: list[str]) -> list[str]:
    if len(set(events)) != len(events):
        raise ValueError("events lists an event type twice")
    return events


class WebhookCreate(InputModel):
    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "url": "https://cms.example.org/hooks/tandem",
                    "events": ["allocation.accepted", "allocation.declined"],
                    "description": "CMS HR system",
                }
            ]
        }
    }

    url: TargetUrl
    events: EventList
    description: Description = ""
    enabled: bool = True

    @field_validator("events")
    @classmethod
    def _events_unique(cls, events: list[str]) -> list[str]:
        return _unique(events)


class WebhookUpdate(MergePatch):
    """A JSON merge patch; `enabled: true` re-enables a subscription that was disabled."""

    document = WebhookCreate
    model_config = {"json_schema_extra": {"examples": [{"enabled": True}]}}

    url: TargetUrl | None = None
    events: EventList | None = None
    description: Description | None = None
    enabled: bool | None = None

    @field_validator("events")
    @classmethod
    def _events_unique(cls, events: list[str] | None) -> list[str] | None:
        return None if events is None else _unique(events)


class WebhookRead(OutputModel):
    id: uuid.UUID
    url: str
    events: list[EventType]
    description: str
    enabled: bool
    disabled_at: datetime | None
    disabled_reason: str | None = Field(
        description="Why the subscription is disabled (e.g. after 24 h of failed deliveries)"
    )
    failing_since: datetime | None = Field(
        description="First failed attempt since the last successful delivery"
    )
    version: int
    created_at: datetime
    updated_at: datetime


class WebhookCreated(WebhookRead):
    secret: str = Field(
        description="Signing secret (`whsec_...`), shown in this response only",
        examples=["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
    )


class DeliveryAttemptRead(OutputModel):
    id: int
    delivery_id: int
    message_id: str = Field(description="The `webhook-id` header (the same on every retry)")
    event_id: uuid.UUID | None
    event_type: str
    attempt: int
    attempted_at: datetime
    duration_ms: int
    status_code: int | None
    error: str | None
    outcome: AttemptOutcome
    next_attempt_at: datetime | None
    delivery_status: DeliveryStatus


class PingResult(OutputModel):
    delivered: bool
    status_code: int | None
    error: str | None
    duration_ms: int
    attempt: DeliveryAttemptRead
