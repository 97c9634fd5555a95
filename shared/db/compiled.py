"""Statements compiled once and run by the driver: the data path of the hottest reads.

Profiles of the API under load put most of a read's CPU in building the statement, hashing
its cache key, the session's execute machinery and turning rows into result objects. A
`Compiled` statement is built and compiled once, at import; each call only binds its
parameters and lets asyncpg fetch plain records, on the session's own connection and
inside its transaction when it has one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, cast

import asyncpg
import orjson
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ClauseElement

from shared.db.session import json_text

# JSON parameters are serialised as the engine serialises them (shared/db/session.py).
_DIALECT = asyncpg_dialect(json_serializer=json_text, json_deserializer=orjson.loads)


class Compiled:
    """A Core statement compiled for asyncpg; run it with `fetch` or `fetchrow`."""

    __slots__ = ("_defaults", "_names", "_processors", "sql")

    def __init__(self, statement: ClauseElement) -> None:
        compiled = cast(SQLCompiler, statement.compile(dialect=_DIALECT))
        self.sql: str = compiled.string
        self._names: tuple[str, ...] = tuple(compiled.positiontup or ())
        # Literals in the statement (e.g. a text search configuration) are parameters too.
        self._defaults: dict[str, Any] = {
            name: bind.value for name, bind in compiled.binds.items() if not bind.required
        }
        self._processors: dict[str, Callable[[Any], Any]] = {}
        for name, bind in compiled.binds.items():
            processor = bind.type.dialect_impl(_DIALECT).bind_processor(_DIALECT)
            if processor is not None:
                self._processors[name] = processor

    def args(self, params: Mapping[str, Any]) -> list[Any]:
        """The positional arguments for `params` (missing ones take the statement's values)."""
        out = []
        for name in self._names:
            value = params[name] if name in params else self._defaults[name]
            processor = self._processors.get(name)
            out.append(value if processor is None or value is None else processor(value))
        return out

    async def fetch(self, session: AsyncSession, **params: Any) -> list[asyncpg.Record]:
        """Every row, as asyncpg records."""
        rows: list[asyncpg.Record] = await self._run(session, "fetch", params)
        return rows

    async def fetchrow(self, session: AsyncSession, **params: Any) -> asyncpg.Record | None:
        """The first row, or None."""
        row: asyncpg.Record | None = await self._run(session, "fetchrow", params)
        return row

    async def execute(self, session: AsyncSession, **params: Any) -> None:
        """Run a statement that returns no rows."""
        await self._run(session, "execute", params)

    async def _run(self, session: AsyncSession, method: str, params: Mapping[str, Any]) -> Any:
        adapted = await _adapted_connection(session)
        args = self.args(params)
        try:
            return await getattr(adapted.driver_connection, method)(self.sql, *args)
        except asyncpg.PostgresError as error:
            # The same exception SQLAlchemy raises for a failed statement (IntegrityError,
            # DataError...), so callers that handle those need not know the path taken.
            raise _sqlalchemy_error(adapted, error, self.sql, args) from error


def _sqlalchemy_error(
    adapted: Any, error: Exception, sql: str, args: list[Any]
) -> sa_exc.StatementError:
    try:
        adapted._handle_exception(error)  # raises the driver error SQLAlchemy would see
    except Exception as translated:
        return sa_exc.DBAPIError.instance(sql, args, translated, adapted.dbapi.Error)
    raise AssertionError("unreachable")  # pragma: no cover


async def driver_connection(session: AsyncSession) -> asyncpg.Connection:
    """The asyncpg connection under `session`, with the session's transaction begun on it."""
    driver: asyncpg.Connection = (await _adapted_connection(session)).driver_connection
    return driver


async def _adapted_connection(session: AsyncSession) -> Any:
    """SQLAlchemy's adapter of the asyncpg connection under `session`, its transaction begun.

    SQLAlchemy's asyncpg adapter sends BEGIN lazily, before its own first statement; a
    statement sent straight to the driver must not slip in ahead of it, outside the
    transaction (autocommit sessions have none).
    """
    bind = session.bind
    adapted: Any
    if isinstance(bind, AsyncConnection) and bind.sync_connection is not None:
        # A session bound to one connection (read requests): no need to ask the session.
        adapted = bind.sync_connection.connection.dbapi_connection
    else:
        connection = await session.connection()
        adapted = (await connection.get_raw_connection()).dbapi_connection
    if not adapted.autocommit and adapted._transaction is None:
        await adapted._start_transaction()
    return adapted
