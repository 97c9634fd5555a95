"""What a constraint the database enforced means to a client: the field it guards.

Services check codes and references before they write (under an advisory lock, so that
concurrent creates of the same key see each other); the database's unique indexes are the
last line of defence. When one of them fires all the same, the API answers 409 naming the
field through `conflict_for`, never 500.
"""

from __future__ import annotations

import re

import asyncpg
from sqlalchemy.exc import IntegrityError

from shared.errors import Conflict

# Unique constraints and indexes, by name, and the field of the API each one guards.
UNIQUE_FIELDS: dict[str, str] = {
    "pk_secretariat": "code",
    "uq_meeting_code": "code",
    "uq_api_key_name": "name",
    "pk_idempotency_record": "Idempotency-Key",
    "uq_webhook_delivery_subscription_id_event_id": "event_id",
    "uq_allocation_proposed_pair": "request_id",
}
_EXTERNAL_REF = re.compile(r"^uq_\w+_external_ref")
_KEY_COLUMNS = re.compile(r"^Key \(([^)]*)\)=")


def _driver_error(exc: BaseException) -> asyncpg.PostgresError | None:
    """The asyncpg error behind a SQLAlchemy one (SQLAlchemy chains it as the cause)."""
    seen: BaseException | None = exc
    for _ in range(4):
        if seen is None:
            return None
        if isinstance(seen, asyncpg.PostgresError):
            return seen
        seen = getattr(seen, "orig", None) or seen.__cause__
    return None


def unique_field(exc: IntegrityError) -> str | None:
    """The API field a unique violation is about, or None when it is not a unique violation."""
    error = _driver_error(exc)
    if not isinstance(error, asyncpg.UniqueViolationError):
        return None
    name = error.constraint_name or ""
    if name in UNIQUE_FIELDS:
        return UNIQUE_FIELDS[name]
    if _EXTERNAL_REF.match(name):
        return "external_ref"
    columns = _KEY_COLUMNS.match(error.detail or "")
    if columns:
        return columns.group(1).split(",")[-1].strip().removesuffix("_code")
    return name or "unknown"


def conflict_for(exc: IntegrityError, label: str = "object") -> Conflict | None:
    """A 409 naming the field whose value is taken, for a unique violation; None otherwise."""
    field = unique_field(exc)
    if field is None:
        return None
    return Conflict(
        f"Another {label} has the same {field}: the value is taken (written meanwhile by "
        "another request). Read the stored one, or choose another value.",
        type_slug="conflict",
        field=field,
    )
