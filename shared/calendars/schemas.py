"""Duty stations, closures and calendars as the API shows them."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

from shared.schemas import InputModel
from shared.types import Day, ShortText, example_day

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


def _closure_example_day() -> str:
    """The closure example's day: a Friday six weeks ahead, made with the document like the
    other examples' days, and moved past Christmas to New Year, which secretariats have
    usually closed already (the demo records those days), so that the example is no 409."""
    day = date.fromisoformat(example_day(6, 4))
    while day.month == 12 and day.day >= 24:
        day += timedelta(weeks=1)
    return day.isoformat()


class ClosureCreate(InputModel):
    model_config = {
        "json_schema_extra": {
            "examples": [{"date": _closure_example_day(), "reason": "Staff retreat"}]
        }
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
