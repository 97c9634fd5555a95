"""Joint activity rules and queries."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from shared.activities import repository
from shared.activities.schemas import ActivityWrite
from shared.config import get_settings
from shared.db import crud
from shared.errors import Forbidden, NotFound
from shared.feed import changes, events
from shared.meetings import service as meetings
from shared.models import Activity
from shared.pagination import decode_cursor, split_page
from shared.policy import Principal, require_secretariat
from shared.schemas import validate_document
from shared.secretariats.service import require_known
from shared.taxa import service as taxa

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


# An activity's external reference belongs to its lead secretariat.
ACTIVITIES: crud.Resource[Activity] = crud.Resource(
    "activity", "activity", "/v1/activities", Activity, to_api, "lead_secretariat_code"
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
    await crud.ensure_external_ref_free(session, ACTIVITIES, data.lead_secretariat, ref, own_id)
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


def _require_may_create(principal: Principal, data: ActivityWrite) -> None:
    require_secretariat(principal, _owners(data), "create an activity it takes part in")
    if data.external_ref is not None and not _is_lead(principal, data.lead_secretariat):
        # The reference would go into the lead's namespace, where the lead's sync job
        # would find it taken.
        raise _lead_only(
            principal,
            data.lead_secretariat,
            "give a joint activity its external_ref",
            ["external_ref"],
        )


def create_needs_transaction(data: ActivityWrite) -> bool:
    """Whether `create` needs a transaction around it. Without an external reference it reads
    the codes the activity names and writes in one statement (the row, its change and its
    event), so each statement may commit on its own; with one, it holds the reference's lock
    until its write commits."""
    return data.external_ref is not None


async def create(
    session: AsyncSession, principal: Principal, data: ActivityWrite
) -> dict[str, Any]:
    """Create a joint activity led by or partnered with the caller's secretariat; returns it
    as the API shows it."""
    _require_may_create(principal, data)
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


def _is_lead(principal: Principal, lead: str) -> bool:
    return principal.is_admin or principal.secretariat == lead


def _lead_only(principal: Principal, lead: str, what: str, fields: list[str]) -> Forbidden:
    return Forbidden(
        f"Only the lead secretariat of a joint activity ({lead}) or an admin may {what}; "
        f"this key belongs to {principal.secretariat or 'no secretariat'}, a partner.",
        type_slug="lead-secretariat-only",
        rule="Partners may edit a joint activity, but only its lead secretariat (or an admin) "
        "may change lead_secretariat, partner_secretariats or external_ref, or delete it.",
        errors=[
            {"field": f"body.{f}", "message": "only the lead may change it", "type": "lead_only"}
            for f in fields
        ]
        or None,
    )


def _require_lead_for_membership(
    principal: Principal, activity: Activity, lead: Any, partners: Any, ref: Any
) -> None:
    """Forbidden when a partner's change touches what only the lead may change (the new
    values as sent, so the rule is heard before any other complaint about them)."""
    if _is_lead(principal, activity.lead_secretariat_code):
        return
    touched = []
    if lead != activity.lead_secretariat_code:
        touched.append("lead_secretariat")
    if not isinstance(partners, list) or set(map(str, partners)) != set(
        activity.partner_secretariat_codes
    ):
        touched.append("partner_secretariats")
    if ref != crud.external_ref(activity):
        touched.append("external_ref")
    if touched:
        raise _lead_only(
            principal, activity.lead_secretariat_code, f"change {' or '.join(touched)}", touched
        )


async def _replace(
    session: AsyncSession,
    principal: Principal,
    activity: Activity,
    data: ActivityWrite,
    expected_version: int | None,
) -> Activity:
    require_secretariat(principal, _owners(activity), "change this activity")
    ref = data.external_ref.model_dump() if data.external_ref else None
    _require_lead_for_membership(
        principal, activity, data.lead_secretariat, data.partner_secretariats, ref
    )
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
    document = crud.merge_patch(_writable(activity), patch_doc)
    _require_lead_for_membership(
        principal,
        activity,
        document.get("lead_secretariat"),
        document.get("partner_secretariats", []),
        document.get("external_ref"),
    )
    data = validate_document(ActivityWrite, document)
    return await _replace(session, principal, activity, data, expected_version)


async def upsert_by_ref(
    session: AsyncSession,
    principal: Principal,
    owner: str,
    source: str,
    ext_id: str,
    data: ActivityWrite,
) -> tuple[Activity, bool]:
    """Create or replace the activity led by `owner` carrying this external reference; True
    when created."""
    document = {**data.model_dump(mode="json"), "external_ref": {"source": source, "id": ext_id}}
    data = validate_document(ActivityWrite, document)
    await crud.lock_external_ref(session, ACTIVITIES, owner, source, ext_id)
    existing = await crud.find_by_external_ref(
        session, ACTIVITIES, owner, source, ext_id, lock=True
    )
    if existing is None:
        _require_may_create(principal, data)
        crud.require_reference_owner(
            principal, ACTIVITIES, owner, data.lead_secretariat, "lead_secretariat"
        )
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
    if not _is_lead(principal, activity.lead_secretariat_code):
        raise _lead_only(principal, activity.lead_secretariat_code, "delete it", [])
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
    conventions = get_settings().taxa_convention_codes
    row = await repository.find(session, activity_id, list(conventions))
    if row is None:
        raise NotFound(f"No activity {activity_id}.")
    return _shown_resolved(row, conventions)


async def list_activities(
    session: AsyncSession,
    *,
    theme: str | None = None,
    status: str | None = None,
    secretariat: str | None = None,
    species: str | None = None,
    taxon: str | None = None,
    meeting_code: str | None = None,
    updated_since: datetime | None = None,
    q: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of activities in creation order, filtered; `species` matches the names
    standing for the same taxon (synonyms), `taxon` the species below a higher taxon."""
    after = decode_cursor(cursor, (datetime, uuid.UUID)) if cursor else None
    rows = await repository.page(
        session,
        theme=theme,
        status=status,
        secretariat=secretariat,
        species=await taxa.names_for_species(session, species) if species else None,
        taxon=await taxa.names_under_taxon(session, taxon) if taxon else None,
        meeting_code=meeting_code,
        updated_since=updated_since,
        q=q,
        after=after,
        limit=limit + 1,
    )
    shown = [repository.record_to_api(r) for r in rows]
    page, next_cursor = split_page(
        shown, limit, lambda a: (a["created_at"].isoformat(), str(a["id"]))
    )
    return await with_species_resolved(session, page), next_cursor


async def with_species_resolved(
    session: AsyncSession, shown: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The activities with `species_resolved`: what each name stands for in each
    convention's taxonomy (one query for the whole list)."""
    names = list(dict.fromkeys(name for a in shown for name in a["species"]))
    resolved = {r["name"]: r for r in await taxa.resolve_names(session, names)}
    for a in shown:
        a["species_resolved"] = [resolved[name] for name in a["species"]]
    return shown


def _shown_resolved(row: Any, conventions: tuple[str, ...]) -> dict[str, Any]:
    """A row read with its species' resolution, as the API shows the activity."""
    shown = repository.record_to_api(row)
    shown["species_resolved"] = taxa.resolved_names(
        shown["species"], repository.species_resolution(row), conventions
    )
    return shown


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
