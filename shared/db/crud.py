"""The write path every resource shares: lock, check the version, apply, bump, record."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from shared.errors import Conflict, Forbidden, NotFound, PreconditionFailed, Unprocessable
from shared.feed import changes
from shared.policy import Principal

M = TypeVar("M")


@dataclass(frozen=True)
class Resource(Generic[M]):
    """How one resource type is stored and shown."""

    feed_type: str  # name in the change feed, e.g. "activity"
    label: str  # name in messages, e.g. "activity"
    path: str  # collection path, e.g. "/v1/activities"
    model: type[M]
    to_api: Callable[[Any], dict[str, Any]]
    # The column naming the secretariat an external reference belongs to: references are
    # unique per (that secretariat, source, id) within the resource type.
    owner_column: str = "secretariat_code"


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


async def get_for_update(session: AsyncSession, res: Resource[M], ident: uuid.UUID) -> M:
    """The object, locked for this transaction, or NotFound."""
    obj = await session.get(res.model, ident, with_for_update=True)
    if obj is None:
        raise NotFound(f"No {res.label} {ident}.")
    return obj


def check_version(res: Resource[Any], obj: Any, expected: int | None) -> None:
    """412 when the caller's If-Match names another version than the stored one."""
    if expected is not None and obj.version != expected:
        raise PreconditionFailed(
            f"The {res.label} is at version {obj.version}, not {expected}: "
            "fetch it again and reapply your change.",
            current_version=obj.version,
        )


async def insert(session: AsyncSession, res: Resource[M], values: dict[str, Any]) -> M:
    """Create an object and record it in the change feed."""
    obj = res.model(**values)
    session.add(obj)
    await session.flush()
    await changes.record(session, res.feed_type, obj.id, "create", obj.version, res.to_api(obj))  # type: ignore[attr-defined]
    return obj


async def update(
    session: AsyncSession,
    res: Resource[M],
    obj: M,
    values: dict[str, Any],
    expected_version: int | None = None,
) -> bool:
    """Apply `values` to a locked object; bump its version only when something changed."""
    check_version(res, obj, expected_version)
    changed = {k: v for k, v in values.items() if getattr(obj, k) != v}
    if not changed:
        return False
    for key, value in changed.items():
        setattr(obj, key, value)
    obj.version += 1  # type: ignore[attr-defined]
    obj.updated_at = datetime.now(UTC)  # type: ignore[attr-defined]
    if not changes.deferring(session):
        # Inside changes.deferred the objects are flushed together at the end of the block.
        await session.flush()
    await changes.record(session, res.feed_type, obj.id, "update", obj.version, res.to_api(obj))  # type: ignore[attr-defined]
    return True


async def advisory_lock(session: AsyncSession, key: str) -> None:
    """Serialise the transactions that write one natural key (held until commit or rollback).

    Taken before the check that the key is free, so of two concurrent creates of the same
    code or reference the second sees the first's row (READ COMMITTED: a fresh snapshot per
    statement) and answers 409, instead of both passing the check and one hitting the
    unique index.
    """
    await session.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(key, 0))))


async def lock_external_ref(
    session: AsyncSession, res: Resource[Any], owner: str, source: str, ext_id: str
) -> None:
    """Serialise writers of one secretariat's external reference (two sync jobs upserting it
    at once, or a create racing them)."""
    await advisory_lock(session, f"{res.feed_type}:{owner}:{source}:{ext_id}")


async def find_by_external_ref(
    session: AsyncSession,
    res: Resource[M],
    owner: str,
    source: str,
    ext_id: str,
    *,
    lock: bool = False,
) -> M | None:
    """The object of secretariat `owner` carrying this external reference, if any."""
    model: Any = res.model
    stmt = select(model).where(
        getattr(model, res.owner_column) == owner,
        model.external_source == source,
        model.external_id == ext_id,
    )
    if lock:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def ensure_external_ref_free(
    session: AsyncSession,
    res: Resource[Any],
    owner: str,
    ref: dict[str, str] | None,
    own_id: uuid.UUID | None,
) -> None:
    """409 when another object of this type and secretariat already carries the reference;
    the reference's lock is held from here to the end of the transaction."""
    if ref is None:
        return
    await lock_external_ref(session, res, owner, ref["source"], ref["id"])
    other = await find_by_external_ref(session, res, owner, ref["source"], ref["id"])
    if other is not None and other.id != own_id:
        raise Conflict(
            f"Another {res.label} of {owner} ({other.id}) has external_ref "
            f"{ref['source']}/{ref['id']}; use PUT {res.path}/by-ref/{ref['source']}/{ref['id']} "
            "to update it.",
            field="external_ref",
            existing_id=str(other.id),
        )


def require_reference_owner(
    principal: Principal, res: Resource[Any], owner: str, data_owner: str, field: str
) -> None:
    """An object created by reference belongs to the secretariat the reference is resolved
    in: 403 for a secretariat's key naming another one, 422 for an admin's inconsistent
    request."""
    if data_owner == owner:
        return
    message = (
        f"The reference is resolved within {owner}, so a {res.label} created by it belongs "
        f"to {owner}: {field} must be {owner}, not {data_owner}."
    )
    if not principal.is_admin:
        raise Forbidden(message)
    raise Unprocessable(
        message,
        errors=[{"field": f"body.{field}", "message": f"must be {owner}", "type": "owner"}],
    )


def external_ref(obj: Any) -> dict[str, str] | None:
    """The API form of an object's external reference."""
    if obj.external_source is None:
        return None
    return {"source": obj.external_source, "id": obj.external_id}


async def shown_by_external_refs(
    session: AsyncSession, res: Resource[Any], owner: str, refs: list[tuple[str, str]]
) -> dict[tuple[str, str], dict[str, Any]]:
    """The objects of secretariat `owner` these (source, id) references name, as the API shows
    them (read as rows, not ORM objects, so that later writes load and lock fresh ones)."""
    if not refs:
        return {}
    table: Any = res.model.__table__
    rows = (
        await session.execute(
            select(table).where(
                table.c[res.owner_column] == owner,
                tuple_(table.c.external_source, table.c.external_id).in_(refs),
            )
        )
    ).all()
    return {(r.external_source, r.external_id): res.to_api(r) for r in rows}


async def version_by_external_ref(
    session: AsyncSession, res: Resource[Any], owner: str, source: str, ext_id: str
) -> int | None:
    """The version of secretariat `owner`'s object carrying this external reference, or None."""
    model: Any = res.model
    version: int | None = await session.scalar(
        select(model.version).where(
            getattr(model, res.owner_column) == owner,
            model.external_source == source,
            model.external_id == ext_id,
        )
    )
    return version


async def count(session: AsyncSession, model: type[Any]) -> int:
    """How many rows the model's table holds."""
    return await session.scalar(select(func.count()).select_from(model)) or 0
