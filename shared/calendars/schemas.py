"""Duty stations, closures and calendars as the API shows them."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

from shared.schemas import InputModel
from shared.types import Day, ShortText

Country = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Z]{2}$"),
    Field(description="ISO 3166-1 alpha-2 country code", examples=["CH"]),
]
Subdivision = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z0-9 -]{1,16}$"),
    Field(description="ISO 3166-2 subdivision as the holidays library names it", examples=["GE"]),
]


class DutyStationRead(BaseModel):
    locode: str = Field(examples=["CH GVA"], description="UN/LOCODE")
    country: str = Field(examples=["CH"])
    subdivision: str | None = Field(examples=["GE"])


class DutyStationWrite(InputModel):
    model_config = {"json_schema_extra": {"examples": [{"country": "DE", "subdivision": "NW"}]}}

    country: Country
    subdivision: Subdivision | None = None


class ClosureCreate(InputModel):
    model_config = {
        "json_schema_extra": {"examples": [{"date": "2026-12-28", "reason": "Year-end closure"}]}
    }

    date: Day
    reason: ShortText


class ClosureRead(BaseModel):
    date: date
    reason: str = Field(examples=["Year-end closure"])


class CalendarDay(BaseModel):
    date: date
    working: bool
    reason: Literal["weekend", "public_holiday", "closure"] | None = Field(
        description="why a day is not a working day (null on working days)"
    )
    name: str | None = Field(
        default=None,
        description="the public holiday's name or the closure's reason",
        examples=["Genevan Fast"],
    )


class CalendarRead(BaseModel):
    secretariat: str = Field(examples=["CITES"])
    duty_station: str = Field(examples=["CH GVA"])
    country: str | None = Field(examples=["CH"])
    subdivision: str | None = Field(examples=["GE"])
    working_days: int = Field(description="number of working days in the range")
    days: list[CalendarDay]
