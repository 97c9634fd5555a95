"""The change feed: every create, update and delete, in commit order."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field
from starlette.responses import Response

from services.api.auth import ReadKey
from services.api.conventions import json_response
from services.api.deps import SessionDep
from services.api.routing import problems
from shared.db import session_scope
from shared.feed import changefeed

router = APIRouter(prefix="/changes", tags=["change feed"])


ChangeType = Literal["activity", "meeting", "workload_request", "capacity_offer", "allocation"]
ChangeOp = Literal["create", "update", "delete"]


class ChangeEntry(BaseModel):
    seq: int = Field(description="Position in the feed (increasing, not gapless)")
    type: ChangeType
    id: uuid.UUID
    op: ChangeOp
    version: int
    at: datetime = Field(description="When the writing transaction ran")
    data: dict[str, Any] | None = Field(
        description='The object as the API shows it; for a delete, a tombstone `{"id": ...}`'
    )


class ChangePage(BaseModel):
    items: list[ChangeEntry]
    next_cursor: str = Field(
        description="Store it and pass it as `after` next time; never null (with no new "
        "entries it is the same position)"
    )


DESCRIPTION = """\
Every create, update and delete of activities, meetings, workload requests, capacity offers
and allocations, in commit order. A sync job stores `next_cursor` and passes it back as
`after`: it sees every committed change exactly once, in order, even when transactions
commit in another order than they started.

Without `after` the feed starts at the beginning of the retained history. A malformed or
unknown cursor is 400. A cursor older than the retention period (`CHANGES_RETENTION_DAYS`)
is 410 with a `resync_cursor`: take a full copy through the list routes, then continue from
it. The page size is 1..1000 (default 100), larger than other lists' because sync jobs read
the feed in bulk.
"""


async def sequence_committed_changes(request: Request) -> None:
    """Number the changes committed so far, in a short transaction of its own, so that this
    read sees every change committed before it started.

    A dependency listed before the key and the request's session, so it runs (and gives its
    connection back) before the request takes one: a burst of feed reads never waits for a
    second connection while holding a first."""
    async with session_scope(request.app.state.session_factory) as sequencing:
        await changefeed.sequence_pending(sequencing)


Sequenced = Annotated[None, Depends(sequence_committed_changes)]


@router.get(
    "",
    summary="The change feed",
    description=DESCRIPTION,
    response_model=ChangePage,
    responses=problems(400, 410),
)
async def list_changes(
    _sequenced: Sequenced,
    session: SessionDep,
    _key: ReadKey,
    after: Annotated[
        str | None, Query(max_length=512, description="The next_cursor of the previous read")
    ] = None,
    types: Annotated[
        str | None,
        Query(
            max_length=200,
            description="Comma-separated resource types, e.g. `activity,meeting`",
            examples=["activity,meeting"],
        ),
    ] = None,
    limit: Annotated[
        int, Query(ge=1, le=changefeed.MAX_LIMIT, description="Page size (1..1000)")
    ] = changefeed.DEFAULT_LIMIT,
) -> Response:
    wanted = changefeed.parse_types(types)
    page = await changefeed.read(session, after, wanted, limit)
    return json_response({"items": page.items, "next_cursor": page.next_cursor})
