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
from sqlalchemy.engine import Connection
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
        args = self.args(params)
        connection = await _connection(session)
        # All public: the pooled connection's DBAPI adapter and the asyncpg connection under it.
        pooled = connection.sync_connection.connection  # type: ignore[union-attr]
        driver: asyncpg.Connection = pooled.driver_connection
        adapter: Any = pooled.dbapi_connection
        if not adapter.autocommit and not driver.is_in_transaction():
            # SQLAlchemy's asyncpg adapter sends BEGIN lazily, before its own first statement:
            # the first statement of a transaction goes through the adapter's DBAPI cursor, so
            # that BEGIN goes first and the adapter knows its transaction for commit/rollback.
            return await _through_dbapi(connection, self.sql, args, method)
        try:
            return await getattr(driver, method)(self.sql, *args)
        except asyncpg.PostgresError as error:
            # The same exception SQLAlchemy raises for a failed statement (IntegrityError,
            # DataError...), so callers that handle those need not know the path taken.
            raise _sqlalchemy_error(connection, error, self.sql, args) from error


async def _connection(session: AsyncSession) -> AsyncConnection:
    """The connection `session` runs on (read sessions are bound to one up front)."""
    bind = session.bind
    if isinstance(bind, AsyncConnection) and bind.sync_connection is not None:
        return bind
    return await session.connection()


async def _through_dbapi(
    connection: AsyncConnection, sql: str, args: list[Any], method: str
) -> Any:
    """Run `sql` on a DBAPI cursor of `connection` (PEP 249; its rows are asyncpg records)."""

    def run(sync_connection: Connection) -> Any:
        cursor = sync_connection.connection.cursor()
        try:
            cursor.execute(sql, args)
            if method == "fetch":
                return cursor.fetchall()
            if method == "fetchrow":
                return cursor.fetchone()
            return None
        finally:
            cursor.close()

    dbapi = connection.dialect.loaded_dbapi
    try:
        return await connection.run_sync(run)
    except dbapi.Error as error:
        raise sa_exc.DBAPIError.instance(sql, args, error, dbapi.Error) from error


# asyncpg's errors as the DBAPI (PEP 249) errors SQLAlchemy's asyncpg adapter raises for them;
# SQLAlchemy's DBAPIError turns each kind into its own class (IntegrityError...).
_DBAPI_KINDS: dict[type[BaseException], str] = {
    asyncpg.IntegrityConstraintViolationError: "IntegrityError",
    asyncpg.PostgresError: "Error",
    asyncpg.SyntaxOrAccessError: "ProgrammingError",
    asyncpg.InterfaceError: "InterfaceError",
    asyncpg.InvalidCachedStatementError: "InvalidCachedStatementError",
    asyncpg.InternalServerError: "InternalServerError",
    asyncpg.RestrictViolationError: "RestrictViolationError",
    asyncpg.NotNullViolationError: "NotNullViolationError",
    asyncpg.ForeignKeyViolationError: "ForeignKeyViolationError",
    asyncpg.UniqueViolationError: "UniqueViolationError",
    asyncpg.CheckViolationError: "CheckViolationError",
    asyncpg.ExclusionViolationError: "ExclusionViolationError",
    asyncpg.InternalClientError: "InternalClientError",
}


def _sqlalchemy_error(
    connection: AsyncConnection, error: Exception, sql: str, args: list[Any]
) -> sa_exc.StatementError:
    dbapi = connection.dialect.loaded_dbapi
    kind = next(_DBAPI_KINDS[cls] for cls in type(error).__mro__ if cls in _DBAPI_KINDS)
    translated = getattr(dbapi, kind)(error.args[0] if error.args else str(error), error)
    return sa_exc.DBAPIError.instance(sql, args, translated, dbapi.Error)
