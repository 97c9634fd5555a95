"""Joint activity rules and queries."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from shared import changes, crud, events
from shared.activities import repository
from shared.activities.schemas import ActivityWrite
from shared.errors import NotFound
from shared.meetings import service as meetings
from shared.models import Activity
from shared.pagination import decode_cursor, split_page
from shared.policy import Principal, require_secretariat
from shared.schemas import validate_document
from shared.secretariats.service import require_known

THEME_ORDER = (
    "species",
    "listings_nomenclature",
    "governing_bodies",
    "nbsap",
    "funding",
    "liaison",
    "administration",
    "other",
)


def to_api(a: Any) -> dict[str, Any]:
    """An activity as the API shows it (from an ORM object or a row)."""
    return {
        "id": a.id,
        "title": a.title,
        "description": a.description,
        "theme": a.theme,
        "species": a.species,
        "lead_secretariat": a.lead_secretariat_code,
        "partner_secretariats": a.partner_secretariat_codes,
        "status": a.status,
        "start_date": a.start_date,
        "end_date": a.end_date,
        "meeting_codes": a.meeting_codes,
        "tags": a.tags,
        "external_ref": crud.external_ref(a),
        "version": a.version,
        "created_at": a.created_at,
        "updated_at": a.updated_at,
    }


ACTIVITIES: crud.Resource[Activity] = crud.Resource(
    "activity", "activity", "/v1/activities", Activity, to_api
)


def _writable(a: Activity) -> dict[str, Any]:
    body = to_api(a)
    for key in ("id", "version", "created_at", "updated_at"):
        body.pop(key)
    if body["external_ref"] is None:
        body.pop("external_ref")
    return {k: v.isoformat() if isinstance(v, date) else v for k, v in body.items()}


def _columns(data: ActivityWrite) -> dict[str, Any]:
    return {
        "title": data.title,
        "description": data.description,
        "theme": data.theme,
        "species": data.species,
        "lead_secretariat_code": data.lead_secretariat,
        "partner_secretariat_codes": data.partner_secretariats,
        "status": data.status,
        "start_date": data.start_date,
        "end_date": data.end_date,
        "meeting_codes": data.meeting_codes,
        "tags": data.tags,
        "external_source": data.external_ref.source if data.external_ref else None,
        "external_id": data.external_ref.id if data.external_ref else None,
    }


def _owners(a: Activity | ActivityWrite) -> list[str]:
    if isinstance(a, Activity):
        return [a.lead_secretariat_code, *a.partner_secretariat_codes]
    return [a.lead_secretariat, *a.partner_secretariats]


async def _check(session: AsyncSession, data: ActivityWrite, own_id: uuid.UUID | None) -> datetime:
    """422/409 unless the references hold; returns the transaction's time."""
    secretariats, meeting_codes, now = await repository.known_codes(
        session, [data.lead_secretariat, *data.partner_secretariats], data.meeting_codes
    )
    require_known([data.lead_secretariat], secretariats, "lead_secretariat")
    require_known(data.partner_secretariats, secretariats, "partner_secretariats")
    meetings.require_known_codes(data.meeting_codes, meeting_codes, "meeting_codes")
    ref = data.external_ref.model_dump() if data.external_ref else None
    await crud.ensure_external_ref_free(session, ACTIVITIES, ref, own_id)
    return now


async def _changed(
    session: AsyncSession,
    op: str,
    activity_id: uuid.UUID,
    version: int,
    shown: dict[str, Any] | None,
) -> None:
    """Tell webhook subscribers (event `activity.changed`), in the writing transaction."""
    await events.emit(
        session,
        "activity.changed",
        {"id": activity_id, "op": op, "version": version, "activity": shown},
    )


async def create(
    session: AsyncSession, principal: Principal, data: ActivityWrite
) -> dict[str, Any]:
    """Create a joint activity led by or partnered with the caller's secretariat; returns it
    as the API shows it."""
    require_secretariat(principal, _owners(data), "create an activity it takes part in")
    now = await _check(session, data, None)
    # Known before the insert (a random UUID, version 1, the transaction's time), so the
    # row and its change-feed entry go in one statement.
    values = {"id": uuid.uuid4(), **_columns(data), "created_at": now, "updated_at": now}
    activity = {
        "id": values["id"],
        "title": data.title,
        "description": data.description,
        "theme": data.theme,
        "species": data.species,
        "lead_secretariat": data.lead_secretariat,
        "partner_secretariats": data.partner_secretariats,
        "status": data.status,
        "start_date": data.start_date,
        "end_date": data.end_date,
        "meeting_codes": data.meeting_codes,
        "tags": data.tags,
        "external_ref": data.external_ref.model_dump() if data.external_ref else None,
        "version": 1,
        "created_at": now,
        "updated_at": now,
    }
    # The row, its change-feed entry and its `activity.changed` event in one statement.
    event = {"id": activity["id"], "op": "create", "version": 1, "activity": activity}
    await repository.create(session, values, activity, "activity.changed", event)
    events.emitted(session, "activity.changed")
    return activity


async def _load(session: AsyncSession, activity_id: uuid.UUID) -> Activity:
    return await crud.get_for_update(session, ACTIVITIES, activity_id)


async def _replace(
    session: AsyncSession,
    principal: Principal,
    activity: Activity,
    data: ActivityWrite,
    expected_version: int | None,
) -> Activity:
    require_secretariat(principal, _owners(activity), "change this activity")
    require_secretariat(principal, _owners(data), "take part in the changed activity")
    crud.check_version(ACTIVITIES, activity, expected_version)
    await _check(session, data, activity.id)
    if await crud.update(session, ACTIVITIES, activity, _columns(data)):
        await _changed(session, "update", activity.id, activity.version, to_api(activity))
    return activity


async def patch(
    session: AsyncSession,
    principal: Principal,
    activity_id: uuid.UUID,
    patch_doc: dict[str, Any],
    expected_version: int | None,
) -> Activity:
    """Apply a JSON merge patch."""
    activity = await _load(session, activity_id)
    require_secretariat(principal, _owners(activity), "change this activity")
    data = validate_document(ActivityWrite, crud.merge_patch(_writable(activity), patch_doc))
    return await _replace(session, principal, activity, data, expected_version)


async def upsert_by_ref(
    session: AsyncSession, principal: Principal, source: str, ext_id: str, data: ActivityWrite
) -> tuple[Activity, bool]:
    """Create or replace the activity carrying this external reference; True when created."""
    document = {**data.model_dump(mode="json"), "external_ref": {"source": source, "id": ext_id}}
    data = validate_document(ActivityWrite, document)
    await crud.lock_external_ref(session, ACTIVITIES, source, ext_id)
    existing = await crud.find_by_external_ref(session, ACTIVITIES, source, ext_id, lock=True)
    if existing is None:
        created = await create(session, principal, data)
        # The stored object, as callers of an upsert (batches) work with it.
        return await crud.get_for_update(session, ACTIVITIES, created["id"]), True
    return await _replace(session, principal, existing, data, None), False


async def delete_activity(
    session: AsyncSession, principal: Principal, activity_id: uuid.UUID, expected: int | None
) -> None:
    """Delete an activity; the change feed keeps a tombstone."""
    activity = await _load(session, activity_id)
    require_secretariat(principal, _owners(activity), "delete this activity")
    crud.check_version(ACTIVITIES, activity, expected)
    await repository.delete_one(session, activity_id)
    await changes.record(
        session, "activity", activity_id, "delete", activity.version + 1, {"id": str(activity_id)}
    )
    await _changed(session, "delete", activity_id, activity.version + 1, None)


async def exists(session: AsyncSession, activity_id: uuid.UUID) -> bool:
    """Whether the activity exists."""
    return await repository.exists(session, activity_id)


async def get(session: AsyncSession, activity_id: uuid.UUID) -> dict[str, Any]:
    """One activity as the API shows it, or NotFound."""
    row = await repository.find(session, activity_id)
    if row is None:
        raise NotFound(f"No activity {activity_id}.")
    return repository.record_to_api(row)


async def list_activities(
    session: AsyncSession,
    *,
    theme: str | None = None,
    status: str | None = None,
    secretariat: str | None = None,
    species: str | None = None,
    meeting_code: str | None = None,
    updated_since: datetime | None = None,
    q: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of activities in creation order, filtered."""
    after = decode_cursor(cursor, (datetime, uuid.UUID)) if cursor else None
    rows = await repository.page(
        session,
        theme=theme,
        status=status,
        secretariat=secretariat,
        species=species,
        meeting_code=meeting_code,
        updated_since=updated_since,
        q=q,
        after=after,
        limit=limit + 1,
    )
    shown = [repository.record_to_api(r) for r in rows]
    return split_page(shown, limit, lambda a: (a["created_at"].isoformat(), str(a["id"])))


async def for_meeting(session: AsyncSession, ident: str) -> dict[str, Any]:
    """The activities reported to a meeting, grouped by theme in a fixed order."""
    meeting = await meetings.resolve(session, ident)
    rows = await repository.reported_to(session, meeting.code)
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(row["theme"], []).append(row)
    themes = [{"theme": t, "activities": groups[t]} for t in THEME_ORDER if t in groups]
    return {"meeting": meetings.to_api(meeting), "themes": themes, "total": len(rows)}


CSV_COLUMNS = (
    "theme",
    "title",
    "lead_secretariat",
    "partner_secretariats",
    "status",
    "species",
    "start_date",
    "end_date",
    "description",
)


def meeting_csv(report: dict[str, Any]) -> str:
    """The meeting's activity list as CSV (UTF-8 with BOM, so spreadsheets read accents)."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for group in report["themes"]:
        for a in group["activities"]:
            writer.writerow(
                [
                    group["theme"].replace("_", " "),
                    _safe_cell(a["title"]),
                    a["lead_secretariat"],
                    "; ".join(a["partner_secretariats"]),
                    a["status"],
                    "; ".join(a["species"]),
                    a["start_date"].isoformat() if a["start_date"] else "",
                    a["end_date"].isoformat() if a["end_date"] else "",
                    _safe_cell(a["description"]),
                ]
            )
    return out.getvalue()


def _safe_cell(value: str) -> str:
    """Neutralise spreadsheet formulas in free text (CSV injection)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value
