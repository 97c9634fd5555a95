"""Typed dependencies shared by every router."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from sqlalchemy.ext.asyncio import AsyncSession

from shared import queue
from shared.config import Settings
from shared.errors import BadRequest, ServiceUnavailable, Unprocessable
from shared.types import CONTROL_CHARACTERS

# GET and HEAD only read (a key's last-use stamp is one statement of its own): their
# statements run without BEGIN/COMMIT, two round trips fewer per request.
_READ_METHODS = frozenset({"GET", "HEAD"})


@asynccontextmanager
async def _turn(gate: asyncio.Semaphore, settings: Settings) -> AsyncIterator[None]:
    """Wait for a database turn, at most DB_WAIT_SECONDS; then 503 rather than a longer queue."""
    try:
        async with asyncio.timeout(settings.db_wait_seconds):
            await gate.acquire()
    except TimeoutError:
        raise ServiceUnavailable(
            "The server is busy; try again in a few seconds.", retry_after=2
        ) from None
    try:
        yield
    finally:
        gate.release()


@asynccontextmanager
async def request_session(state: Any, *, transaction: bool) -> AsyncIterator[AsyncSession]:
    """The request's session: one transaction, committed when the block ends without error;
    or, without `transaction` (reads, and writes a service makes in one statement), each
    statement committed on its own. The jobs buffered during it are sent after the commit."""
    if not transaction:
        # Each statement has committed on its own: nothing to commit or roll back.
        async with _turn(state.read_gate, state.settings), state.read_session_factory() as session:
            yield session
            jobs = queue.take_pending(session)
        if jobs:
            await queue.send(state.queue, jobs)
        return
    async with _turn(state.write_gate, state.settings), state.session_factory() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            queue.take_pending(session)
            raise
        jobs = queue.take_pending(session)
    if jobs:
        await queue.send(state.queue, jobs)


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's session (see `request_session`), committed before the response is sent."""
    transaction = request.method not in _READ_METHODS
    async with request_session(request.app.state, transaction=transaction) as session:
        yield session


async def get_settings_dep(request: Request) -> Settings:
    """The app's settings (async: FastAPI would run a plain function in a worker thread)."""
    settings: Settings = request.app.state.settings
    return settings


# scope="function": commit happens when the handler returns, before the response goes out,
# so a client that sees 2xx can read its write from any connection.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]


def _allowed_query(route: APIRoute) -> frozenset[str]:
    names = _ALLOWED_QUERY.get(id(route))
    if names is None:
        names = frozenset(_query_names(route.dependant))
        _ALLOWED_QUERY[id(route)] = names
    return names


def _query_names(dependant: Dependant) -> set[str]:
    names = {p.alias for p in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


# Routes live as long as the app; keyed by identity (APIRoute is not hashable).
_ALLOWED_QUERY: dict[int, frozenset[str]] = {}


async def reject_unknown_query(request: Request) -> None:
    """A misspelt filter is an error, not a silently unfiltered list."""
    if not request.query_params:
        return
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    unknown = sorted(set(request.query_params) - _allowed_query(route))
    if unknown:
        raise BadRequest(
            f"Unknown query parameter(s): {', '.join(unknown)}.",
            type_slug="unknown-query-parameter",
            errors=[
                {"field": f"query.{name}", "message": "unknown parameter", "type": "unknown"}
                for name in unknown
            ],
        )


async def refuse_control_characters(request: Request) -> None:
    """A path or query value holding NUL or another control character is a 422 naming it:
    no identifier, code or filter has one, and PostgreSQL cannot even compare NUL."""
    bad = [
        f"path.{name}"
        for name, value in request.path_params.items()
        if isinstance(value, str) and CONTROL_CHARACTERS.search(value)
    ]
    bad += [
        f"query.{name}"
        for name, value in request.query_params.multi_items()
        if CONTROL_CHARACTERS.search(name) or CONTROL_CHARACTERS.search(value)
    ]
    if bad:
        fields = sorted(set(bad))
        raise Unprocessable(
            f"The request has invalid fields: {', '.join(fields)}",
            errors=[
                {
                    "field": field,
                    "message": "must not contain control characters",
                    "type": "control_characters",
                }
                for field in fields
            ],
        )
