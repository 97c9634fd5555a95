"""The audit trail: every create, change and decision on requests, offers and allocations.

Entries are only ever added (the database refuses UPDATE and DELETE on the table). Each one
says who (the API key's name, or `matching` / `system` for the worker), when, what
(`action`), which fields went from what to what, and why (`reason`, when one was given).
Every version of an object has exactly one entry; a removal (a dropped proposal) has one too.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import crud
from shared.feed import repository
from shared.pagination import decode_cursor, encode_cursor

# Fields that change with every version and say nothing of their own.
_UNTRACKED = frozenset({"id", "version", "created_at", "updated_at"})

MATCHING_ACTOR = "matching"
SYSTEM_ACTOR = "system"


def _json(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, list):
        return [_json(v) for v in value]
    if isinstance(value, dict):
        return {k: _json(v) for k, v in value.items()}
    return value


def diff(before: dict[str, Any] | None, after: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The fields that differ between two API forms of an object, as {field: {from, to}}."""
    out: dict[str, dict[str, Any]] = {}
    for key, new in after.items():
        if key in _UNTRACKED:
            continue
        old = None if before is None else before.get(key)
        if before is None and new in (None, "", [], False, 0):
            continue
        if before is None or _json(old) != _json(new):
            out[key] = {"from": _json(old), "to": _json(new)}
    return out


async def record(
    session: AsyncSession,
    resource_type: str,
    resource_id: uuid.UUID,
    version: int,
    action: str,
    actor: str,
    changes: dict[str, dict[str, Any]] | None = None,
    reason: str | None = None,
) -> None:
    """Append one entry to an object's history."""
    await repository.add_history(
        session, resource_type, resource_id, version, action, actor[:100], changes or {}, reason
    )


async def created(
    session: AsyncSession, res: crud.Resource[Any], obj: Any, actor: str, action: str = "created"
) -> None:
    """Record the creation of an object with the values it was created with."""
    await record(
        session, res.feed_type, obj.id, obj.version, action, actor, diff(None, res.to_api(obj))
    )


async def update(
    session: AsyncSession,
    res: crud.Resource[Any],
    obj: Any,
    values: dict[str, Any],
    *,
    actor: str,
    action: str = "updated",
    reason: str | None = None,
    expected_version: int | None = None,
) -> dict[str, dict[str, Any]]:
    """`crud.update` that also records the change in the history; returns the changed fields."""
    before = res.to_api(obj)
    if not await crud.update(session, res, obj, values, expected_version):
        return {}
    changes = diff(before, res.to_api(obj))
    await record(session, res.feed_type, obj.id, obj.version, action, actor, changes, reason)
    return changes


async def entries(
    session: AsyncSession,
    resource_type: str,
    resource_id: uuid.UUID,
    *,
    cursor: str | None = None,
    limit: int = 50,
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of an object's history, oldest first."""
    after = decode_cursor(cursor, (int,))[0] if cursor else None
    rows = await repository.history_page(session, resource_type, resource_id, after, limit + 1)
    next_cursor = encode_cursor(rows[limit - 1]["id"]) if len(rows) > limit else None
    return [{k: v for k, v in e.items() if k != "id"} for e in rows[:limit]], next_cursor
