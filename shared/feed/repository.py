"""Every statement on change feed entries, history entries and events.

Appending a change is on every write's path: that statement is compiled once and run by
the driver (shared/db/compiled.py).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    Delete,
    Insert,
    Sequence,
    Table,
    Update,
    bindparam,
    column,
    delete,
    exists,
    func,
    insert,
    select,
    table,
    true,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db.compiled import Compiled
from shared.models import Change, ChangeFeedState, Event, HistoryEntry

# A statement that writes the object a change is about.
Write = Insert | Update | Delete

# ---- deferred writing ------------------------------------------------------------------

_DEFERRED = "tandem_deferred_records"


@dataclass(slots=True)
class _Deferred:
    changes: list[dict[str, Any]] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)


@asynccontextmanager
async def deferred(session: AsyncSession) -> AsyncIterator[None]:
    """Within the block, the session's change feed entries, history entries and events are
    kept and written when it ends, each kind in one statement in the order they were made
    (a matching run writes hundreds: one round trip per kind instead of one per row).

    Objects changed through the shared write path (shared/db/crud.py) are flushed at its end
    too, all together. Nothing inside the block may read them back; a block that raises
    writes nothing.
    """
    if _DEFERRED in session.info:
        yield
        return
    kept = session.info[_DEFERRED] = _Deferred()
    try:
        yield
    finally:
        session.info.pop(_DEFERRED, None)
    await session.flush()
    if kept.changes:
        await session.execute(_APPEND_STATEMENT, kept.changes)
    if kept.history:
        await session.execute(insert(cast(Table, HistoryEntry.__table__)), kept.history)
    if kept.events:
        await session.execute(insert(cast(Table, Event.__table__)), kept.events)


def deferring(session: AsyncSession) -> bool:
    """Whether the session is inside a `deferred` block."""
    return _DEFERRED in session.info


def _kept(session: AsyncSession) -> _Deferred | None:
    kept: _Deferred | None = session.info.get(_DEFERRED)
    return kept


# ---- change feed: appending -------------------------------------------------------------

_APPEND_STATEMENT = insert(Change).values(
    {
        name: bindparam(name, type_=Change.__table__.c[name].type)
        for name in ("resource_type", "resource_id", "op", "version", "data")
    }
)
# Every write appends one: compiled once.
_APPEND = Compiled(_APPEND_STATEMENT)

# An event row written by a statement of its own making (bind event_type and event_data),
# e.g. alongside the write that causes it: see `with_change`.
EVENT_INSERT = insert(Event).values(
    type=bindparam("event_type", type_=Event.__table__.c.type.type),
    data=bindparam("event_data", type_=Event.__table__.c.data.type),
)


async def append_change(
    session: AsyncSession,
    resource_type: str,
    resource_id: uuid.UUID,
    op: str,
    version: int,
    data: dict[str, Any] | None,
) -> None:
    """Append a change of one object (its feed position comes after commit)."""
    kept = _kept(session)
    if kept is not None:
        kept.changes.append(
            {
                "resource_type": resource_type,
                "resource_id": resource_id,
                "op": op,
                "version": version,
                "data": data,
            }
        )
        return
    await _APPEND.execute(
        session,
        resource_type=resource_type,
        resource_id=resource_id,
        op=op,
        version=version,
        data=data,
    )


def with_change(write: Write, *more: Insert) -> Compiled:
    """One statement that makes `write` (and the inserts `more`, e.g. EVENT_INSERT) and
    appends its change: round trips fewer.

    Run it with the write's parameters plus resource_type, resource_id, op, version, data.
    """
    statement = _APPEND_STATEMENT.add_cte(write.cte("write"))
    for n, extra in enumerate(more, 1):
        statement = statement.add_cte(extra.cte(f"write_{n}"))
    return Compiled(statement)


# ---- change feed: positions, reads, retention --------------------------------------------

_CHANGE_SEQUENCE = Sequence("change_seq")
_CHANGE_SEQ = table("change_seq", column("last_value"), column("is_called"))


async def any_unsequenced(session: AsyncSession) -> bool:
    """Whether some change has no feed position yet."""
    return bool(await session.scalar(select(exists().where(Change.seq.is_(None)))))


async def lock_sequencer(session: AsyncSession, lock_id: int) -> None:
    """Take the sequencer's advisory lock until the end of the transaction."""
    await session.execute(select(func.pg_advisory_xact_lock(lock_id)))


async def sequence_batch(session: AsyncSession, batch: int) -> int:
    """Give positions to up to `batch` changes without one, in id order; how many got one."""
    # Numbered in a subquery over the ordered pending ids, so positions follow id order
    # (the order in which the writes were made) within one run.
    pending = (
        select(Change.id).where(Change.seq.is_(None)).order_by(Change.id).limit(batch)
    ).subquery("pending")
    numbered = select(pending.c.id, _CHANGE_SEQUENCE.next_value().label("seq")).subquery("numbered")
    result = await session.execute(
        update(Change).where(Change.id == numbered.c.id).values(seq=numbered.c.seq)
    )
    count: int = result.rowcount  # type: ignore[attr-defined]
    return count


async def issued_head(session: AsyncSession) -> int:
    """The highest position ever drawn."""
    row = (await session.execute(select(_CHANGE_SEQ.c.last_value, _CHANGE_SEQ.c.is_called))).one()
    return int(row.last_value) if row.is_called else 0


async def pruned_through(session: AsyncSession) -> int:
    """The last position retention removed (0 when none was)."""
    value = await session.scalar(
        select(ChangeFeedState.pruned_through_seq).where(ChangeFeedState.id == 1)
    )
    return int(value or 0)


async def page_after(
    session: AsyncSession, position: int, types: list[str] | None, limit: int
) -> tuple[list[dict[str, Any]], int | None]:
    """Up to `limit` entries after `position` (of `types`), in feed order, as the API shows
    them, and the highest position drawn so far, both in one snapshot."""
    page_stmt = select(
        Change.seq,
        Change.resource_type,
        Change.resource_id,
        Change.op,
        Change.version,
        Change.at,
        Change.data,
    ).where(Change.seq > position)
    if types is not None:
        page_stmt = page_stmt.where(Change.resource_type.in_(types))
    page = page_stmt.order_by(Change.seq).limit(limit).subquery().lateral("page")
    head = select(func.max(Change.seq).label("head")).subquery("head")
    rows = (
        await session.execute(select(head.c.head, page).select_from(head.outerjoin(page, true())))
    ).all()
    items = [
        {
            "seq": r.seq,
            "type": r.resource_type,
            "id": r.resource_id,
            "op": r.op,
            "version": r.version,
            "at": r.at,
            "data": r.data,
        }
        for r in rows
        if r.seq is not None
    ]
    return items, (int(rows[0].head) if rows and rows[0].head is not None else None)


async def prune_before(session: AsyncSession, cutoff: datetime) -> int:
    """Remove the prefix of the feed older than `cutoff` and remember where it stopped."""
    through = await session.scalar(
        select(func.max(Change.seq)).where(Change.at < cutoff, Change.seq.is_not(None))
    )
    if through is None:
        return 0
    result = await session.execute(
        delete(Change).where(Change.seq.is_not(None), Change.seq <= through)
    )
    stmt = pg_insert(ChangeFeedState).values(id=1, pruned_through_seq=through, pruned_at=func.now())
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[ChangeFeedState.id],
            set_={
                "pruned_through_seq": func.greatest(
                    ChangeFeedState.pruned_through_seq, stmt.excluded.pruned_through_seq
                ),
                "pruned_at": stmt.excluded.pruned_at,
            },
        )
    )
    deleted: int = result.rowcount  # type: ignore[attr-defined]
    return deleted


# ---- events ------------------------------------------------------------------------------


async def add_event(session: AsyncSession, event_type: str, data: dict[str, Any]) -> None:
    """Record an event for webhook subscribers."""
    kept = _kept(session)
    if kept is not None:
        kept.events.append({"type": event_type, "data": data})
        return
    await session.execute(insert(Event).values(type=event_type, data=data))


# ---- history -----------------------------------------------------------------------------


async def add_history(
    session: AsyncSession,
    resource_type: str,
    resource_id: uuid.UUID,
    version: int,
    action: str,
    actor: str,
    changes: dict[str, dict[str, Any]],
    reason: str | None,
) -> None:
    """Append one entry to an object's history."""
    entry = {
        "resource_type": resource_type,
        "resource_id": resource_id,
        "version": version,
        "action": action,
        "actor": actor,
        "changes": changes,
        "reason": reason,
    }
    kept = _kept(session)
    if kept is not None:
        kept.history.append(entry)
        return
    await session.execute(insert(HistoryEntry).values(**entry))


async def history_page(
    session: AsyncSession,
    resource_type: str,
    resource_id: uuid.UUID,
    after: int | None,
    limit: int,
) -> list[dict[str, Any]]:
    """Up to `limit` history entries of an object after entry `after`, oldest first, as the
    API shows them, each with its `id` (the cursor's position)."""
    stmt = select(HistoryEntry).where(
        HistoryEntry.resource_type == resource_type, HistoryEntry.resource_id == resource_id
    )
    if after is not None:
        stmt = stmt.where(HistoryEntry.id > after)
    rows = (await session.scalars(stmt.order_by(HistoryEntry.id).limit(limit))).all()
    return [
        {
            "id": e.id,
            "at": e.at,
            "actor": e.actor,
            "action": e.action,
            "version": e.version,
            "changes": e.changes,
            "reason": e.reason,
        }
        for e in rows
    ]
