"""The forecast as the API shows it."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

METHOD = (
    "Hours per meeting day (adjusted for length) of the body's past meetings, carried along "
    "the body's trend to this meeting's date; the median of the last five, times this "
    "meeting's length; split by kind, skill and week with the shares of the recent meetings."
)


class Hours(BaseModel):
    expected: float = Field(examples=[412.5])
    low: float = Field(description="20th percentile", examples=[350.0])
    high: float = Field(description="80th percentile", examples=[480.0])


class KindSkillHours(Hours):
    kind: str = Field(examples=["ict"])
    skill: str = Field(examples=["av-streaming"], description="empty: requests without a skill")


class WeekHours(KindSkillHours):
    week: int = Field(description="weeks from the opening day (-12 .. the last meeting week)")
    week_start: date


class ForecastMeeting(BaseModel):
    code: str = Field(examples=["CITES SC79"])
    title: str
    body: str = Field(examples=["Standing Committee"])
    secretariat: str = Field(examples=["CITES"])
    start_date: date
    end_date: date
    days: int


class MeetingForecast(BaseModel):
    meeting: ForecastMeeting
    method: str = Field(default=METHOD)
    based_on: list[str] = Field(description="the past meetings learnt from, oldest first")
    same_body: bool = Field(
        description="false when the body had too little history and the secretariat's other "
        "meetings stood in"
    )
    trend_per_year: float = Field(description="yearly change of log hours per meeting day")
    length_elasticity: float = Field(description="how hours grow with length (1: in proportion)")
    total: Hours | None = Field(description="null without any past meeting to learn from")
    by_kind_skill: list[KindSkillHours]
    weeks: list[WeekHours]


class ShortfallRow(BaseModel):
    secretariat: str = Field(examples=["CITES"], description="the secretariat that will ask")
    kind: str = Field(examples=["ict"])
    skill: str = Field(examples=["av-streaming"])
    week_start: date = Field(description="Monday of the week")
    expected: float
    low: float
    high: float
    offered: float = Field(
        description="hours other secretariats' active offers with that skill hold that week"
    )
    accepted: float = Field(description="hours already accepted for such requests that week")
    shortfall: float = Field(description="expected minus what is offered or accepted, if more")
    meetings: list[str]


class Shortfall(BaseModel):
    from_: date = Field(alias="from")
    to: date
    meetings: list[ForecastMeeting]
    total_expected: float
    total_shortfall: float
    items: list[ShortfallRow]

    model_config = {"populate_by_name": True}
