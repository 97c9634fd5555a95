"""Bulk sync: create or update up to 1,000 objects keyed by external reference at once.

Transactions: **one transaction per batch, one SAVEPOINT per item.** Each item runs
between `SAVEPOINT` and `RELEASE` (`session.begin_nested()`); an item that fails
(validation, policy, conflict, a constraint in the database) is rolled back to its
savepoint alone, so nothing partial is written for it, and reported with its problem
while the other items go on. The batch commits once, at the end of the request.

Why not one transaction per item: a thousand commits (each a WAL flush) would make a
batch several times slower, and the batch would be half applied if the client or the
connection dropped midway; with one commit the client either gets every result or
nothing was written, and since the upsert is keyed by external reference it simply sends
the same batch again. Why not all-or-nothing: one bad row out of a thousand from an HR
or calendar system should not block the other 999.

Items are applied in order of their external reference (results keep the request's
order), so two batches that touch the same references take the per-reference locks in
the same order and cannot deadlock. An item whose stored object already has the same
fields is `unchanged`: no version bump, no change-feed entry, no event. The stored objects
are read once for the whole batch, so a batch sent again (the usual case for a sync job)
costs one query instead of a dozen per item; an item found unchanged that way is reported
without the resource's write-policy check, since nothing is written for it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from shared import queue
from shared.db import crud
from shared.db.integrity import conflict_for
from shared.errors import AppError, Conflict, PayloadTooLarge, Unprocessable
from shared.policy import Principal
from shared.schemas import validate_document
from shared.types import ExternalRef

W = TypeVar("W", bound=BaseModel)

MAX_ITEMS = 1000
MAX_BODY_BYTES = 5 * 1024 * 1024

Outcome = Literal["created", "updated", "unchanged", "error"]
Upsert = Callable[[AsyncSession, Principal, str, str, str, W], Awaitable[tuple[Any, bool]]]


@dataclass(frozen=True)
class BatchResource(Generic[W]):
    """A resource that takes batch upserts: `POST /v1/<collection>:batch-upsert`."""

    collection: str  # path segment, e.g. "activities"
    resource: crud.Resource[Any]
    schema: type[W]  # the write schema of one item (must carry external_ref)
    upsert: Upsert[W]  # the resource's own upsert_by_ref


@dataclass(frozen=True, slots=True)
class ItemResult:
    index: int
    external_ref: dict[str, str] | None
    outcome: Outcome
    object: dict[str, Any] | None = None
    error: AppError | None = None


async def upsert_many(
    session: AsyncSession,
    principal: Principal,
    spec: BatchResource[Any],
    items: list[Any],
    owner: str,
) -> list[ItemResult]:
    """Create or update each item by its external reference within secretariat `owner`; one
    result per item, in order."""
    if len(items) > MAX_ITEMS:
        raise PayloadTooLarge(
            f"A batch holds at most {MAX_ITEMS} items; this one has {len(items)}. "
            "Split it into several requests.",
            max_items=MAX_ITEMS,
        )
    results: dict[int, ItemResult] = {}
    ready: list[tuple[str, str, int, Any]] = []
    first_at: dict[tuple[str, str], int] = {}
    for index, raw in enumerate(items):
        ref = _ref_of(raw)
        try:
            data = _validate(spec, raw)
            key = (data.external_ref.source, data.external_ref.id)
            if key in first_at:
                raise Unprocessable(
                    f"external_ref {key[0]}/{key[1]} appears more than once in this batch "
                    f"(first as item {first_at[key]}); send each object once.",
                    type_slug="duplicate-external-ref",
                )
            first_at[key] = index
            ready.append((key[0], key[1], index, data))
        except AppError as exc:
            results[index] = ItemResult(index, ref, "error", error=exc)
    refs = [(source, ext_id) for source, ext_id, _, _ in ready]
    stored = await _stored(session, spec, owner, refs)
    for source, ext_id, index, data in sorted(ready, key=lambda r: (r[0], r[1])):
        current = stored.get((source, ext_id))
        if current is not None and _same(spec, current, data):
            ref = {"source": source, "id": ext_id}
            results[index] = ItemResult(index, ref, "unchanged", object=current)
            continue
        results[index] = await _upsert_one(
            session, principal, spec, owner, index, source, ext_id, data
        )
    _coalesce_jobs(session)
    return [results[i] for i in range(len(items))]


async def _stored(
    session: AsyncSession, spec: BatchResource[Any], owner: str, refs: list[tuple[str, str]]
) -> dict[tuple[str, str], dict[str, Any]]:
    """The objects these references name, as the API shows them (rows, not ORM objects, so
    the upserts below load and lock fresh ones)."""
    return await crud.shown_by_external_refs(session, spec.resource, owner, refs)


def _same(spec: BatchResource[Any], current: dict[str, Any], data: BaseModel) -> bool:
    """True when the stored object already has every writable field of the item."""
    fields = type(data).model_fields
    try:
        stored = spec.schema.model_validate({k: v for k, v in current.items() if k in fields})
    except ValidationError:
        return False
    return stored == data


def _ref_of(raw: Any) -> dict[str, str] | None:
    """The item's reference as given, when it is a valid one (results echo only valid refs)."""
    ref = raw.get("external_ref") if isinstance(raw, dict) else None
    try:
        return ExternalRef.model_validate(ref).model_dump() if ref is not None else None
    except ValidationError:
        return None


def _validate(spec: BatchResource[W], raw: Any) -> Any:
    if not isinstance(raw, dict):
        raise Unprocessable(
            "Each item must be a JSON object.",
            errors=[{"field": "body", "message": "object expected", "type": "dict_type"}],
        )
    data: Any = validate_document(spec.schema, raw)
    if getattr(data, "external_ref", None) is None:
        raise Unprocessable(
            "Each item needs an external_ref {source, id}: it is the key of the upsert.",
            errors=[{"field": "body.external_ref", "message": "Field required", "type": "missing"}],
        )
    return data


async def _upsert_one(
    session: AsyncSession,
    principal: Principal,
    spec: BatchResource[Any],
    owner: str,
    index: int,
    source: str,
    ext_id: str,
    data: Any,
) -> ItemResult:
    ref = {"source": source, "id": ext_id}
    try:
        async with session.begin_nested():
            # Held to the end of the batch's transaction: the version read here is the one
            # the upsert below starts from.
            await crud.lock_external_ref(session, spec.resource, owner, source, ext_id)
            before = await crud.version_by_external_ref(
                session, spec.resource, owner, source, ext_id
            )
            obj, created = await spec.upsert(session, principal, owner, source, ext_id, data)
            outcome: Outcome = (
                "created" if created else "unchanged" if obj.version == before else "updated"
            )
            shown = spec.resource.to_api(obj)
    except AppError as exc:
        return ItemResult(index, ref, "error", error=exc)
    except DBAPIError as exc:
        unique = conflict_for(exc, spec.resource.label) if isinstance(exc, IntegrityError) else None
        conflict = unique or Conflict(
            f"The {spec.resource.label} conflicts with stored data "
            f"({type(exc.orig).__name__ if exc.orig else 'database error'}); "
            "check the item against the current state and send it again."
        )
        return ItemResult(index, ref, "error", error=conflict)
    return ItemResult(index, ref, outcome, object=shown)


def _coalesce_jobs(session: AsyncSession) -> None:
    """One nudge per kind of job after commit, not one per item (events ask for the same job)."""
    seen: set[str] = set()
    for job in queue.take_pending(session):
        key = repr((job.name, job.args, sorted(job.kwargs.items())))
        if key not in seen:
            seen.add(key)
            queue.enqueue_after_commit(session, job.name, *job.args, **job.kwargs)
