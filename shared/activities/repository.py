"""The register's hot reads: one activity by id and filtered pages, compiled once.

Every filter combination is its own statement (so PostgreSQL plans each with the index it
needs), compiled on first use and kept; values travel as parameters only.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from functools import lru_cache
from typing import Any

import asyncpg
from sqlalchemy import (
    DateTime,
    Integer,
    String,
    Text,
    any_,
    bindparam,
    cast,
    delete,
    func,
    insert,
    literal,
    null,
    or_,
    select,
    text,
    tuple_,
    union_all,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db.compiled import Compiled
from shared.feed import changes, events
from shared.models import Activity, Meeting, Secretariat
from shared.taxa.service import resolution_of_names

# The columns the API shows, in this order (see `record_to_api`).
READ_COLUMNS = (
    Activity.id,
    Activity.title,
    Activity.description,
    Activity.theme,
    Activity.species,
    Activity.lead_secretariat_code,
    Activity.partner_secretariat_codes,
    Activity.status,
    Activity.start_date,
    Activity.end_date,
    Activity.meeting_codes,
    Activity.tags,
    Activity.external_source,
    Activity.external_id,
    Activity.version,
    Activity.created_at,
    Activity.updated_at,
)

FILTERS = (
    "theme",
    "status",
    "secretariat",
    "species",
    "taxon",
    "meeting_code",
    "updated_since",
    "q",
)

# What the activity's species stand for in the conventions asked for, in the same round trip
# (the taxa domain's resolution, as a column; `species_resolution` reads it). One activity
# only: on a page, resolving each row's names in its own subquery cost PostgreSQL more than
# resolving the page's distinct names in a second statement saves.
SPECIES_RESOLUTION = text(
    resolution_of_names("activity.species", ":conventions") + " AS resolution"
).bindparams(bindparam("conventions", type_=ARRAY(Text)))

_BY_ID = Compiled(select(*READ_COLUMNS, SPECIES_RESOLUTION).where(Activity.id == bindparam("id")))

# The columns a client writes (see service._columns), and those fixed at creation.
WRITE_COLUMNS = (
    "title",
    "description",
    "theme",
    "species",
    "lead_secretariat_code",
    "partner_secretariat_codes",
    "status",
    "start_date",
    "end_date",
    "meeting_codes",
    "tags",
    "external_source",
    "external_id",
)
_COLUMN_TYPES = {c.name: c.type for c in Activity.__table__.columns}
_CREATE = changes.with_write(
    insert(Activity).values(
        {
            name: bindparam(name, type_=_COLUMN_TYPES[name])
            for name in ("id", *WRITE_COLUMNS, "created_at", "updated_at")
        }
    ),
    events.INSERT,
)
_NO_TIME = cast(null(), DateTime(timezone=True))
_KNOWN_CODES = Compiled(
    union_all(
        select(literal("secretariat").label("kind"), Secretariat.code, _NO_TIME).where(
            Secretariat.code == any_(bindparam("secretariats", type_=ARRAY(String)))
        ),
        select(literal("meeting"), Meeting.code, _NO_TIME).where(
            Meeting.code == any_(bindparam("meetings", type_=ARRAY(String)))
        ),
        # The transaction's time, which a row's created_at would get by default.
        select(literal("now"), cast(null(), String), func.now()),
    )
)


def record_to_api(r: asyncpg.Record) -> dict[str, Any]:
    """A row of READ_COLUMNS as the API shows the activity."""
    return {
        "id": r["id"],
        "title": r["title"],
        "description": r["description"],
        "theme": r["theme"],
        "species": r["species"],
        "lead_secretariat": r["lead_secretariat_code"],
        "partner_secretariats": r["partner_secretariat_codes"],
        "status": r["status"],
        "start_date": r["start_date"],
        "end_date": r["end_date"],
        "meeting_codes": r["meeting_codes"],
        "tags": r["tags"],
        "external_ref": (
            None
            if r["external_source"] is None
            else {"source": r["external_source"], "id": r["external_id"]}
        ),
        "version": r["version"],
        "created_at": r["created_at"],
        "updated_at": r["updated_at"],
    }


async def create(
    session: AsyncSession,
    values: dict[str, Any],
    shown: dict[str, Any],
    event_type: str,
    event: dict[str, Any],
) -> None:
    """Insert an activity (id, WRITE_COLUMNS, created_at, updated_at in `values`), append its
    creation, `shown` as the API shows it, to the change feed and record the event for
    webhooks: one round trip (the caller books the event's delivery, events.emitted)."""
    await _CREATE.execute(
        session,
        **values,
        resource_type="activity",
        resource_id=values["id"],
        op="create",
        version=1,
        data=shown,
        event_type=event_type,
        event_data=event,
    )


async def known_codes(
    session: AsyncSession, secretariats: list[str], meetings: list[str]
) -> tuple[set[str], set[str], datetime]:
    """Which of these secretariat codes and meeting codes exist, and the transaction's time
    (a new row's created_at), in one round trip."""
    rows = await _KNOWN_CODES.fetch(session, secretariats=secretariats, meetings=meetings)
    found: dict[str, set[str]] = {"secretariat": set(), "meeting": set()}
    now = None
    for kind, code, at in rows:
        if kind == "now":
            now = at
        else:
            found[kind].add(code)
    assert now is not None
    return found["secretariat"], found["meeting"], now


_EXISTS = Compiled(select(Activity.id).where(Activity.id == bindparam("id")))


async def exists(session: AsyncSession, activity_id: uuid.UUID) -> bool:
    """Whether the activity exists."""
    return await _EXISTS.fetchrow(session, id=activity_id) is not None


async def find(
    session: AsyncSession, activity_id: uuid.UUID, conventions: list[str]
) -> asyncpg.Record | None:
    """The activity's READ_COLUMNS and its species' resolution in these conventions (see
    `species_resolution`), or None."""
    return await _BY_ID.fetchrow(session, id=activity_id, conventions=conventions)


def species_resolution(r: asyncpg.Record) -> Any:
    """The resolution rows of a row read with its species resolved, or None for none."""
    return r["resolution"]


_FOR_MEETING = Compiled(
    select(*READ_COLUMNS)
    .where(
        Activity.meeting_codes.contains(
            bindparam("meeting_codes", type_=Activity.meeting_codes.type)
        )
    )
    .order_by(Activity.title, Activity.id)
)
_DELETE = Compiled(delete(Activity).where(Activity.id == bindparam("id")))


async def reported_to(session: AsyncSession, meeting_code: str) -> list[dict[str, Any]]:
    """The activities reported to a meeting, by title, as the API shows them."""
    rows = await _FOR_MEETING.fetch(session, meeting_codes=[meeting_code])
    return [record_to_api(r) for r in rows]


async def delete_one(session: AsyncSession, activity_id: uuid.UUID) -> None:
    """Delete an activity."""
    await _DELETE.execute(session, id=activity_id)


@lru_cache(maxsize=2 ** (len(FILTERS) + 1))
def _page_query(filters: frozenset[str], after: bool) -> Compiled:
    stmt = select(*READ_COLUMNS)
    if "theme" in filters:
        stmt = stmt.where(Activity.theme == bindparam("theme"))
    if "status" in filters:
        stmt = stmt.where(Activity.status == bindparam("status"))
    if "secretariat" in filters:
        stmt = stmt.where(
            or_(
                Activity.lead_secretariat_code == bindparam("secretariat"),
                Activity.partner_secretariat_codes.contains(
                    bindparam("secretariat_list", type_=Activity.partner_secretariat_codes.type)
                ),
            )
        )
    # Normalised names: any of the names standing for the species (synonyms included), or
    # any name below the higher taxon (shared/taxa resolves them).
    if "species" in filters:
        stmt = stmt.where(Activity.species_key.overlap(bindparam("species", type_=ARRAY(Text))))
    if "taxon" in filters:
        stmt = stmt.where(Activity.species_key.overlap(bindparam("taxon", type_=ARRAY(Text))))
    if "meeting_code" in filters:
        stmt = stmt.where(
            Activity.meeting_codes.contains(
                bindparam("meeting_code", type_=Activity.meeting_codes.type)
            )
        )
    if "updated_since" in filters:
        stmt = stmt.where(
            Activity.updated_at >= bindparam("updated_since", type_=Activity.updated_at.type)
        )
    if "q" in filters:
        stmt = stmt.where(
            Activity.search.bool_op("@@")(func.websearch_to_tsquery("english", bindparam("q")))
        )
    if after:
        # Row comparison uses the (created_at, id) index as one range scan.
        stmt = stmt.where(
            tuple_(Activity.created_at, Activity.id)
            > tuple_(
                bindparam("after_created", type_=Activity.created_at.type),
                bindparam("after_id", type_=Activity.id.type),
            )
        )
    return Compiled(
        stmt.order_by(Activity.created_at, Activity.id).limit(bindparam("limit", type_=Integer))
    )


async def page(
    session: AsyncSession,
    *,
    theme: str | None = None,
    status: str | None = None,
    secretariat: str | None = None,
    species: list[str] | None = None,
    taxon: list[str] | None = None,
    meeting_code: str | None = None,
    updated_since: datetime | None = None,
    q: str | None = None,
    after: tuple[datetime, uuid.UUID] | None = None,
    limit: int,
) -> list[asyncpg.Record]:
    """Up to `limit` activities in creation order after `after`, filtered (`species`,
    `taxon`: lower-case names, any of which matches)."""
    params: dict[str, Any] = {"limit": limit}
    if theme:
        params["theme"] = theme
    if status:
        params["status"] = status
    if secretariat:
        params["secretariat"] = secretariat
        params["secretariat_list"] = [secretariat]
    if species is not None:
        params["species"] = species
    if taxon is not None:
        params["taxon"] = taxon
    if meeting_code:
        params["meeting_code"] = [meeting_code]
    if updated_since:
        params["updated_since"] = updated_since
    if q:
        params["q"] = q
    if after is not None:
        params["after_created"], params["after_id"] = after
    filters = frozenset(params) & frozenset(FILTERS)
    return await _page_query(filters, after is not None).fetch(session, **params)
