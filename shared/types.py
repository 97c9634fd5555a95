"""Field types with their limits, shared by every schema."""

from __future__ import annotations

import re
from datetime import date
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
]
ShortText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    AfterValidator(_clean),
    AfterValidator(_no_newline),
]
LongText = Annotated[str, StringConstraints(max_length=10_000), AfterValidator(_clean)]
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


def _iso_date(value: object) -> object:
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not _ISO_DATE.match(value):
        raise ValueError("must be a date as YYYY-MM-DD")
    return value


Day = Annotated[
    date,
    BeforeValidator(_iso_date),
    Field(ge=date(2000, 1, 1), le=date(2100, 12, 31), description="YYYY-MM-DD"),
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


Timestamp = Annotated[
    AwareDatetime,
    BeforeValidator(_rfc3339),
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
    Field(description="why (kept in the history)", examples=["Team needed for the CoP"]),
]
