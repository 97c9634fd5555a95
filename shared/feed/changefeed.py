"""The change feed: positions given after commit, reads by cursor, retention.

Every write records a `change` row in its own transaction (shared/feed/changes.py) with
`seq` NULL. A plain sequence drawn at insert time would not give a safe cursor: a
transaction that drew 41 may commit after one that drew 42, so a reader that has moved
past 42 would never see 41. Here positions are given *after* commit by the sequencer:

    pg_advisory_xact_lock(SEQUENCER_LOCK)
    UPDATE change SET seq = nextval('change_seq') WHERE seq IS NULL  -- in id order

It only sees committed rows (READ COMMITTED takes the UPDATE's snapshot after the lock is
granted), runs one at a time (the lock lasts until its commit), and each run draws larger
numbers than every run before it. So the set of positions a reader can see only ever grows
above what it has seen: once a reader has seen N, nothing new appears below N. A change
committed while a run is in progress is simply numbered by the next run.

The sequencer runs at the start of every feed read (a cheap index probe when nothing is
pending) and from a worker cron every few seconds, so entries do not wait for a reader.
Retention removes a prefix of the feed and remembers where it stopped
(`change_feed_state.pruned_through_seq`); a cursor before that point gets 410.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from shared.errors import BadRequest, Gone, Unprocessable
from shared.feed import repository
from shared.feed.changes import RESOURCE_TYPES
from shared.pagination import decode_cursor, encode_cursor

# Arbitrary constant naming the sequencer's advisory lock (one per database).
SEQUENCER_LOCK = 0x7A_6E_64_6D_5F_63_66  # "tndm_cf"
SEQUENCE_BATCH = 5000
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


async def sequence_pending(session: AsyncSession, batch: int = SEQUENCE_BATCH) -> int:
    """Give feed positions to committed changes that have none; how many got one.

    Call it in a transaction of its own and commit right after: the lock is held until then.
    """
    if not await repository.any_unsequenced(session):
        return 0
    await repository.lock_sequencer(session, SEQUENCER_LOCK)
    total = 0
    while True:
        count = await repository.sequence_batch(session, batch)
        total += count
        if count < batch:
            return total


@dataclass(frozen=True, slots=True)
class FeedPage:
    items: list[dict[str, Any]]
    next_cursor: str


def parse_types(types: str | None) -> list[str] | None:
    """The resource types a `types=a,b` filter names; 422 for an unknown one."""
    if types is None:
        return None
    wanted = [t.strip() for t in types.split(",") if t.strip()]
    unknown = sorted({t for t in wanted if t not in RESOURCE_TYPES})
    if unknown or not wanted:
        raise Unprocessable(
            f"types must be a comma-separated list of {', '.join(RESOURCE_TYPES)}; "
            f"got {', '.join(unknown) or 'nothing'}.",
            errors=[
                {
                    "field": "query.types",
                    "message": f"unknown type {t!r}" if t else "empty",
                    "type": "enum",
                }
                for t in unknown or [""]
            ],
        )
    return sorted(set(wanted))


async def read(
    session: AsyncSession, after: str | None, types: list[str] | None, limit: int
) -> FeedPage:
    """Entries after the cursor, in feed order; 400 for a cursor this feed did not issue,
    410 for one older than the retained history."""
    position = decode_cursor(after, (int,))[0] if after is not None else 0
    pruned = await repository.pruned_through(session)
    if position < pruned:
        resync = encode_cursor(await repository.issued_head(session))
        raise Gone(
            "The change feed no longer holds the changes after this cursor (they are kept "
            "for a limited time). Resync: note resync_cursor, fetch a full copy through "
            "the list routes, then read /v1/changes?after=<resync_cursor>.",
            type_slug="cursor-expired",
            resync_cursor=resync,
        )
    if position > await repository.issued_head(session):
        raise BadRequest(
            "The cursor is not valid: pass back the next_cursor of a previous page unchanged.",
            type_slug="invalid-cursor",
        )
    # One statement, one snapshot: the head is what this page could have seen.
    items, head = await repository.page_after(session, position, types, limit)
    next_position = items[-1]["seq"] if items else position
    if len(items) < limit and head is not None:
        # Nothing else up to the head matched the filter: later reads may start there.
        next_position = max(next_position, head)
    return FeedPage(items, encode_cursor(next_position))


async def prune(session: AsyncSession, retention_days: int, now: datetime | None = None) -> int:
    """Remove entries older than the retention period (a prefix of the feed); how many."""
    cutoff = (now or datetime.now(UTC)) - timedelta(days=retention_days)
    await repository.lock_sequencer(session, SEQUENCER_LOCK)
    return await repository.prune_before(session, cutoff)
