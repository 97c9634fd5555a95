"""Filters and response models of the stats endpoints."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from pydantic import Field

from shared.activities.schemas import ActivityStatus, Theme
from shared.errors import Unprocessable
from shared.meetings.schemas import MeetingRead
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


@dataclass(frozen=True, slots=True)
class SupportQuery:
    """What the support figures are restricted to; `working_days` are ISO weekdays."""

    period: DateRange
    secretariat: str | None
    kind: str | None
    working_days: tuple[int, ...]

    def params(self) -> dict[str, Any]:
        return {
            "range_from": self.period.start,
            "range_to": self.period.end,
            "secretariat": self.secretariat,
            "kind": self.kind,
            "working_days": list(self.working_days),
        }


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


# ---- support: workload requests, capacity offers, allocations ----

Kind = Literal["ict", "staff"]


class SupportFilters(OutputModel):
    """The filters the figures were computed with (null: not filtered)."""

    from_: date | None = Field(alias="from")
    to: date | None
    secretariat: str | None
    kind: Kind | None


class WorkloadFigures(OutputModel):
    hours_requested: float = Field(
        description="Requested hours spread over the working days of each request's window"
    )
    hours_proposed: int = Field(description="Hours of proposed allocations on these days")
    hours_accepted: int = Field(description="Hours of accepted allocations on these days")
    open_requests: int = Field(
        description="Requests still open, partially matched or matched with a working day here"
    )
    unmet_hours: float = Field(
        description="Hours not accepted (yet), spread as the requested hours are"
    )


class WorkloadWeek(WorkloadFigures):
    week: str = Field(examples=["2027-W02"], description="ISO week")
    week_start: date = Field(description="Its Monday")
    secretariat: str = Field(description="The asking secretariat")
    kind: Kind


class WorkloadStats(OutputModel):
    """Demand and support per ISO week, asking secretariat and kind."""

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "filters": {
                        "from": "2027-01-04",
                        "to": "2027-03-28",
                        "secretariat": None,
                        "kind": None,
                    },
                    "working_days": [1, 2, 3, 4, 5],
                    "weeks": [
                        {
                            "week": "2027-W02",
                            "week_start": "2027-01-11",
                            "secretariat": "CITES",
                            "kind": "staff",
                            "hours_requested": 64.0,
                            "hours_proposed": 16,
                            "hours_accepted": 40,
                            "open_requests": 2,
                            "unmet_hours": 24.0,
                        }
                    ],
                    "totals": {
                        "hours_requested": 64.0,
                        "hours_proposed": 16,
                        "hours_accepted": 40,
                        "open_requests": 2,
                        "unmet_hours": 24.0,
                    },
                }
            ]
        }
    }

    filters: SupportFilters
    working_days: list[int] = Field(description="ISO weekdays counted as working days")
    weeks: list[WorkloadWeek] = Field(description="Weeks with any figure, in order")
    totals: WorkloadFigures = Field(description="Over the whole range (requests counted once)")


class CapacityFigures(OutputModel):
    hours_offered: int
    hours_proposed: int
    hours_accepted: int
    utilisation: float | None = Field(
        description="hours_accepted / hours_offered (null when nothing is offered)"
    )


class OfferCapacity(CapacityFigures):
    id: uuid.UUID
    title: str
    secretariat: str = Field(description="The offering secretariat")
    kind: Kind
    status: Literal["active", "withdrawn"]
    start_date: date
    end_date: date
    hours_per_day: int
    total_hours: int
    location: str | None
    travel_ok: bool


class SecretariatCapacity(CapacityFigures):
    secretariat: str
    offers: int
    active_offers: int


class CapacityTotals(CapacityFigures):
    offers: int
    active_offers: int


class CapacityStats(OutputModel):
    """Hours offered, proposed and accepted per capacity offer and per secretariat."""

    filters: SupportFilters
    working_days: list[int]
    offers: list[OfferCapacity]
    by_secretariat: list[SecretariatCapacity]
    totals: CapacityTotals


class UnmetRequest(OutputModel):
    id: uuid.UUID
    title: str
    secretariat: str
    kind: Kind
    status: str
    priority: str
    start_date: date
    end_date: date
    meeting_code: str | None
    hours: int
    hours_proposed: int
    hours_accepted: int
    unmet_hours: int


class UnmetSkill(OutputModel):
    skill: str = Field(examples=["av-streaming"])
    unmet_hours: int = Field(description="Hours not accepted of the requests needing it")
    unproposed_hours: int = Field(description="Of those, hours no proposal covers either")
    requests: int = Field(description="Requests needing it with hours not accepted")
    top_requests: list[UnmetRequest] = Field(description="Those with the most unmet hours")


class UnmetSkillStats(OutputModel):
    """The skills with the most unmet hours, and the requests behind them."""

    filters: SupportFilters
    skills: list[UnmetSkill]


class ExchangeModes(OutputModel):
    remote_hours: int = Field(description="Accepted hours for work not on site")
    on_site_hours: int = Field(description="Accepted hours on site by people already there")
    travel_hours: int = Field(description="Accepted hours on site by people who travelled")


class ExchangePair(ExchangeModes):
    giver: str = Field(description="The offering secretariat")
    receiver: str = Field(description="The asking secretariat")
    hours_accepted: int
    hours_proposed: int


class ExchangeBalance(OutputModel):
    secretariat: str
    hours_given: int = Field(description="Accepted hours it gave")
    hours_received: int = Field(description="Accepted hours it received")
    balance: int = Field(description="hours_given - hours_received")
    hours_proposed_to_give: int
    hours_proposed_to_receive: int


class ExchangeTotals(ExchangeModes):
    hours_accepted: int
    hours_proposed: int
    remote_share: float | None = Field(
        description="remote_hours / hours_accepted (null when nothing is accepted)"
    )


class ExchangeStats(OutputModel):
    """The balance of mutual support, and how much of it was given remotely."""

    filters: SupportFilters
    pairs: list[ExchangePair]
    by_secretariat: list[ExchangeBalance]
    totals: ExchangeTotals


HelperStatus = Literal["proposed", "accepted"]
SupportMode = Literal["remote", "on_site", "travel"]


class MeetingHelper(OutputModel):
    allocation_id: uuid.UUID
    offer_id: uuid.UUID
    offer_title: str
    secretariat: str = Field(description="The helping secretariat")
    status: HelperStatus
    hours: int
    travel: bool
    mode: SupportMode


class MeetingRequest(OutputModel):
    id: uuid.UUID
    title: str
    secretariat: str
    kind: Kind
    status: str
    priority: str
    start_date: date
    end_date: date
    hours: int
    hours_proposed: int
    hours_accepted: int
    on_site: bool
    location: str | None
    skills: list[str]
    helpers: list[MeetingHelper]


class MeetingSupportTotals(ExchangeModes):
    requests: int
    by_status: dict[str, int]
    hours_requested: int = Field(description="Hours of the requests not cancelled")
    hours_proposed: int
    hours_accepted: int
    remote_share: float | None
    accepted_offers: int = Field(description="Offers with accepted hours for the meeting")


class MeetingSupport(OutputModel):
    totals: MeetingSupportTotals
    requests: list[MeetingRequest]


class MeetingActivity(OutputModel):
    id: uuid.UUID
    title: str
    lead_secretariat: str
    partner_secretariats: list[str]
    status: ActivityStatus
    species: list[str]


class MeetingThemeActivities(OutputModel):
    theme: Theme
    total: int
    activities: list[MeetingActivity]


class MeetingActivitiesStats(OutputModel):
    total: int
    by_theme: list[MeetingThemeActivities]


class MeetingStats(OutputModel):
    """The support picture around one meeting and the joint activities reported to it."""

    meeting: MeetingRead
    filters: SupportFilters
    support: MeetingSupport
    activities: MeetingActivitiesStats
