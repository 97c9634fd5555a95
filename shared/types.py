"""Field types with their limits, shared by every schema."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Annotated

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
)

LOCODE_PATTERN = r"^[A-Z]{2} [A-Z2-9]{3}$"
SECRETARIAT_PATTERN = r"^[A-Z][A-Z0-9-]{1,15}$"
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# What the schema says of text: free text may hold tabs and line breaks, nothing else below
# U+0020 nor DEL; one-line text and every identifier, path and query value hold none of them.
TEXT_PATTERN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
LINE_PATTERN = r"^[^\x00-\x1f\x7f]*$"
# One line with something other than spaces in it (leading and trailing spaces are trimmed).
FILLED_LINE_PATTERN = r"^[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f][^\x00-\x1f\x7f]*$"
FILLED_TEXT_PATTERN = (
    r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*[^\s\x00-\x1f\x7f][^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
)
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")


def refuse_control_characters(value: object) -> None:
    """Raise ValueError when a string anywhere in `value` holds NUL or another control
    character than tab, line feed and carriage return (PostgreSQL cannot store NUL)."""
    if isinstance(value, str):
        if _CONTROL.search(value):
            raise ValueError("must not contain control characters")
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            refuse_control_characters(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            refuse_control_characters(key)
            refuse_control_characters(item)


def _clean(value: str) -> str:
    """Refuse text PostgreSQL cannot store or a reader cannot see (NUL, controls, surrogates)."""
    if _CONTROL.search(value):
        raise ValueError("must not contain control characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError("must be valid Unicode text") from exc
    return value


def _no_newline(value: str) -> str:
    if "\n" in value or "\r" in value or "\t" in value:
        raise ValueError("must be a single line")
    return value


Title = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=300),
    AfterValidator(_clean),
    AfterValidator(_no_newline),
    Field(json_schema_extra={"pattern": FILLED_LINE_PATTERN}),
]
ShortText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    AfterValidator(_clean),
    AfterValidator(_no_newline),
    Field(json_schema_extra={"pattern": FILLED_LINE_PATTERN}),
]
LongText = Annotated[
    str,
    StringConstraints(max_length=10_000),
    AfterValidator(_clean),
    Field(json_schema_extra={"pattern": TEXT_PATTERN}),
]
Locode = Annotated[
    str,
    StringConstraints(pattern=LOCODE_PATTERN, min_length=6, max_length=6),
    Field(description="UN/LOCODE: country, space, place (e.g. `CH GVA`)", examples=["CH GVA"]),
]
SecretariatCode = Annotated[
    str,
    StringConstraints(pattern=SECRETARIAT_PATTERN, max_length=16),
    Field(examples=["CITES"]),
]
MeetingCode = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=2, max_length=40, pattern=r"^[A-Za-z0-9][A-Za-z0-9 ./-]*$"
    ),
    Field(examples=["CITES SC61"]),
]
Tag = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        to_lower=True,
        min_length=1,
        max_length=50,
        pattern=r"^[a-z0-9][a-z0-9-]*$",
    ),
    Field(description="lower-case tag of letters, digits and hyphens", examples=["meeting-prep"]),
]
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2100, 12, 31)
# The same range as FIRST_DAY..LAST_DAY, said in the schema (JSON Schema has no date bounds).
DAY_PATTERN = r"^(20[0-9]{2}|2100)-[0-9]{2}-[0-9]{2}$"


def _iso_date(value: object) -> object:
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not _ISO_DATE.match(value):
        raise ValueError("must be a date as YYYY-MM-DD")
    return value


def _in_range(value: date) -> date:
    if not FIRST_DAY <= value <= LAST_DAY:
        raise ValueError(f"must be a day from {FIRST_DAY} to {LAST_DAY}")
    return value


def example_day(weeks_ahead: int, weekday: int = 0) -> str:
    """A day of a week to come, for the OpenAPI examples: they are made when the document is
    built, so a documented example is accepted on the day it is served (a window in the past
    is refused)."""
    today = date.today()
    monday = today - timedelta(days=today.weekday()) + timedelta(weeks=weeks_ahead)
    return (monday + timedelta(days=weekday)).isoformat()


Day = Annotated[
    date,
    BeforeValidator(_iso_date),
    AfterValidator(_in_range),
    Field(
        description=f"YYYY-MM-DD, from {FIRST_DAY} to {LAST_DAY}",
        json_schema_extra={"pattern": DAY_PATTERN},
    ),
]


class ExternalRef(BaseModel):
    """The same object's identity in another system."""

    model_config = ConfigDict(extra="forbid")

    source: Annotated[
        str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")
    ] = Field(examples=["cites-website"])
    id: Annotated[
        str, StringConstraints(min_length=1, max_length=200, pattern=r"^[\x21-\x7e]+$")
    ] = Field(examples=["activity-1234"])


_RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?([Zz]|[+-]\d{2}:\d{2})$"
)


def _rfc3339(value: object) -> object:
    if isinstance(value, str) and not _RFC3339.match(value):
        raise ValueError("must be an RFC 3339 timestamp with a zone, e.g. 2026-11-28T09:00:00Z")
    return value


def _utc(value: datetime) -> datetime:
    """The same instant in UTC; an instant outside the years 1..9999 in UTC (a zone's offset
    can push `0001-01-01T00:00:00+14:00` there) becomes the first or last one Python has, so a
    filter with it still means "since forever" or "nothing yet"."""
    try:
        return value.astimezone(UTC)
    except OverflowError:
        edge = datetime.min if value.year == 1 else datetime.max
        return edge.replace(tzinfo=UTC)


Timestamp = Annotated[
    AwareDatetime,
    BeforeValidator(_rfc3339),
    AfterValidator(_utc),
    Field(description="RFC 3339 timestamp with a zone", examples=["2026-11-28T09:00:00Z"]),
]


def _normalise_skill(value: object) -> object:
    # Only spaces are trimmed, and the length is checked before: the schema's pattern and
    # maxLength then describe exactly what is accepted.
    if isinstance(value, str):
        if len(value) > 50:
            raise ValueError("must have at most 50 characters")
        return value.strip(" ").lower()
    return value


def _dedupe_sorted(values: list[str]) -> list[str]:
    return sorted(set(values))


def _reason_length(value: object) -> object:
    if isinstance(value, str) and len(value) > 2000:
        raise ValueError("must have at most 2000 characters")
    return value


Skill = Annotated[
    str,
    BeforeValidator(_normalise_skill),
    StringConstraints(min_length=1, max_length=50, pattern=r"^[a-z0-9][a-z0-9-]*$"),
    Field(
        description="skill tag: trimmed, lower-cased, letters, digits and hyphens",
        examples=["av-streaming"],
        json_schema_extra={"pattern": r"^ *[A-Za-z0-9][A-Za-z0-9-]* *$"},
    ),
]
Skills = Annotated[
    list[Skill],
    Field(max_length=20, description="at most 20 skill tags; duplicates are merged, sorted"),
    AfterValidator(_dedupe_sorted),
]
Reason = Annotated[
    str,
    BeforeValidator(_reason_length),
    StringConstraints(strip_whitespace=True, min_length=1, max_length=2000),
    AfterValidator(_clean),
    Field(
        description="why (kept in the history)",
        examples=["Team needed for the CoP"],
        json_schema_extra={"pattern": FILLED_TEXT_PATTERN},
    ),
]
