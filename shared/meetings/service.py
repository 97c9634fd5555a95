"""Meeting rules: who may write, what must hold, and the queries behind the routes."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import crud
from shared.errors import Conflict, NotFound, Unprocessable
from shared.meetings import repository
from shared.meetings.schemas import MeetingWrite
from shared.models import Meeting
from shared.pagination import split_page
from shared.policy import Principal, require_own_secretariat
from shared.schemas import validate_document
from shared.secretariats.service import ensure_exist

to_api = repository.to_api

MEETINGS: crud.Resource[Meeting] = crud.Resource(
    "meeting", "meeting", "/v1/meetings", Meeting, to_api
)


def _writable(m: Meeting) -> dict[str, Any]:
    body = to_api(m)
    keys = ("code", "title", "secretariat", "body", "location", "start_date", "end_date")
    doc = {k: body[k].isoformat() if isinstance(body[k], date) else body[k] for k in keys}
    if body["external_ref"]:
        doc["external_ref"] = body["external_ref"]
    return doc


def _columns(data: MeetingWrite) -> dict[str, Any]:
    return {
        "code": data.code,
        "title": data.title,
        "secretariat_code": data.secretariat,
        "body": data.body,
        "location": data.location,
        "start_date": data.start_date,
        "end_date": data.end_date,
        "external_source": data.external_ref.source if data.external_ref else None,
        "external_id": data.external_ref.id if data.external_ref else None,
    }


async def resolve(session: AsyncSession, ident: str, *, lock: bool = False) -> Meeting:
    """A meeting by id or by code, or NotFound."""
    meeting = await repository.find(session, ident, lock=lock)
    if meeting is None:
        raise NotFound(f"No meeting {ident!r}.")
    return meeting


async def _check(session: AsyncSession, data: MeetingWrite, own_id: uuid.UUID | None) -> None:
    await ensure_exist(session, [data.secretariat], "secretariat")
    await crud.advisory_lock(session, f"meeting.code:{data.code}")
    clash = await repository.id_of_code(session, data.code)
    if clash is not None and clash != own_id:
        raise Conflict(
            f"A meeting with code {data.code!r} exists already ({clash}).",
            field="code",
            existing_id=str(clash),
        )
    ref = data.external_ref.model_dump() if data.external_ref else None
    await crud.ensure_external_ref_free(session, MEETINGS, data.secretariat, ref, own_id)


async def create(session: AsyncSession, principal: Principal, data: MeetingWrite) -> Meeting:
    """Create a meeting for the caller's secretariat."""
    require_own_secretariat(principal, data.secretariat, "create a meeting it holds")
    await _check(session, data, None)
    return await crud.insert(session, MEETINGS, _columns(data))


async def _replace(
    session: AsyncSession,
    principal: Principal,
    meeting: Meeting,
    data: MeetingWrite,
    expected_version: int | None,
) -> Meeting:
    require_own_secretariat(principal, meeting.secretariat_code, "change this meeting")
    require_own_secretariat(principal, data.secretariat, "hold this meeting")
    crud.check_version(MEETINGS, meeting, expected_version)
    await _check(session, data, meeting.id)
    if data.code != meeting.code:
        used = await repository.activities_reporting_to(session, meeting.code)
        if used:
            raise Conflict(
                f"The code of meeting {meeting.code!r} cannot change: "
                f"{used} joint activities are reported to it."
            )
    await crud.update(session, MEETINGS, meeting, _columns(data))
    return meeting


async def patch(
    session: AsyncSession,
    principal: Principal,
    ident: str,
    patch_doc: dict[str, Any],
    expected_version: int | None,
) -> Meeting:
    """Apply a JSON merge patch."""
    meeting = await resolve(session, ident, lock=True)
    require_own_secretariat(principal, meeting.secretariat_code, "change this meeting")
    data = validate_document(MeetingWrite, crud.merge_patch(_writable(meeting), patch_doc))
    return await _replace(session, principal, meeting, data, expected_version)


async def upsert_by_ref(
    session: AsyncSession,
    principal: Principal,
    owner: str,
    source: str,
    ext_id: str,
    data: MeetingWrite,
) -> tuple[Meeting, bool]:
    """Create or replace the meeting of `owner` carrying this external reference; True when
    created."""
    document = {**data.model_dump(mode="json"), "external_ref": {"source": source, "id": ext_id}}
    data = validate_document(MeetingWrite, document)
    await crud.lock_external_ref(session, MEETINGS, owner, source, ext_id)
    existing = await crud.find_by_external_ref(session, MEETINGS, owner, source, ext_id, lock=True)
    if existing is None:
        require_own_secretariat(principal, data.secretariat, "create a meeting it holds")
        crud.require_reference_owner(principal, MEETINGS, owner, data.secretariat, "secretariat")
        return await create(session, principal, data), True
    return await _replace(session, principal, existing, data, None), False


async def cancel(
    session: AsyncSession, principal: Principal, ident: str, expected_version: int | None
) -> Meeting:
    """Mark a meeting cancelled (meetings are never deleted: activities refer to them)."""
    meeting = await resolve(session, ident, lock=True)
    require_own_secretariat(principal, meeting.secretariat_code, "cancel this meeting")
    await crud.update(session, MEETINGS, meeting, {"status": "cancelled"}, expected_version)
    return meeting


async def get(session: AsyncSession, ident: str) -> dict[str, Any]:
    return to_api(await resolve(session, ident))


async def list_meetings(
    session: AsyncSession,
    *,
    secretariat: str | None,
    status: str | None,
    overlaps_from: date | None,
    overlaps_to: date | None,
    updated_since: datetime | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of meetings in creation order."""
    rows = await repository.page(
        session,
        secretariat=secretariat,
        status=status,
        overlaps_from=overlaps_from,
        overlaps_to=overlaps_to,
        updated_since=updated_since,
        cursor=cursor,
        limit=limit,
    )
    page, next_cursor = split_page(rows, limit, lambda m: (m.created_at.isoformat(), str(m.id)))
    return [to_api(m) for m in page], next_cursor


async def ensure_codes_exist(session: AsyncSession, codes: list[str], field: str) -> None:
    """422 naming the meeting codes that name no meeting."""
    if not codes:
        return
    require_known_codes(codes, await repository.existing_codes(session, codes), field)


def require_known_codes(codes: list[str], known: set[str], field: str) -> None:
    """422 naming the codes among `codes` that are not in `known` (the meeting codes found)."""
    missing = sorted(set(codes) - known)
    if missing:
        raise Unprocessable(
            f"Unknown meeting code(s) in {field}: {', '.join(missing)}.",
            errors=[
                {"field": f"body.{field}", "message": f"no meeting {m!r}", "type": "unknown"}
                for m in missing
            ],
        )
