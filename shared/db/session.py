"""Engine and session factories; `session_scope` is the worker's unit of work."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import orjson
from arq import ArqRedis
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from shared.queue import send, take_pending
from shared.serialization import dumps

UnitOfWork = Callable[[], AbstractAsyncContextManager[AsyncSession]]
"""Opens one unit of work: a session whose transaction commits when the block succeeds and
rolls back when it raises (e.g. `session_scope` bound to a factory and a queue). Work made
of several transactions (a matching run's attempts, webhook deliveries) takes one from the
worker's task, which thereby decides what a commit does (send the jobs asked for, or not)."""


def json_text(value: object) -> str:
    """JSON for a json/jsonb parameter, encoded as responses are (shared/serialization.py)."""
    return dumps(value).decode()


def create_engine(
    url: str, *, pool_size: int = 10, application_name: str = "tandem", autocommit: bool = False
) -> AsyncEngine:
    """An async engine on asyncpg with JSON handled by orjson, keeping `pool_size` connections
    (`autocommit`: every statement commits on its own; for read-only work)."""
    return create_async_engine(
        url,
        pool_size=pool_size,
        # No overflow: a connection opened beyond the pool is closed again as soon as it is
        # returned while the pool is full, so under steady load the process kept opening and
        # closing PostgreSQL connections (a server process each, plus the driver's type setup).
        # Requests beyond the pool wait their turn in its queue instead.
        max_overflow=0,
        pool_timeout=10,
        # Errors and their log lines never carry bound values (webhook secrets, key hashes).
        hide_parameters=True,
        json_serializer=json_text,
        json_deserializer=orjson.loads,
        # JIT compiling costs 30-50 ms and never pays off for these short queries (the stats
        # aggregates over generate_series look expensive enough to the planner to trigger it).
        connect_args={"server_settings": {"application_name": application_name, "jit": "off"}},
        **({"isolation_level": "AUTOCOMMIT"} if autocommit else {}),
    )


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded values after commit (responses are built after it)."""
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


def create_read_session_factory(
    read_engine: AsyncEngine,
) -> Callable[[], AbstractAsyncContextManager[AsyncSession]]:
    """Sessions whose statements each commit on their own (no BEGIN/COMMIT round trips),
    on `read_engine`, an engine made with `autocommit=True`.

    For requests that only read: at PostgreSQL's READ COMMITTED every statement takes its
    own snapshot even inside a transaction, so a reader loses nothing by having none. Each
    session is bound to one pooled connection checked out up front, which statements run by
    the driver (shared/db/compiled.py) use without the ORM's connection bookkeeping. (An
    engine of its own rather than an autocommit option on the writers' engine: the option
    sets and resets the connection's isolation level on every checkout, which cost more than
    the query.)
    """

    @asynccontextmanager
    async def read_session() -> AsyncIterator[AsyncSession]:
        async with (
            read_engine.connect() as connection,
            AsyncSession(bind=connection, expire_on_commit=False, autoflush=False) as session,
        ):
            yield session

    return read_session


@asynccontextmanager
async def session_scope(
    factory: async_sessionmaker[AsyncSession], queue: ArqRedis | None = None
) -> AsyncIterator[AsyncSession]:
    """One transaction: commit when the block succeeds, roll back when it raises.

    With `queue` (the worker's unit of work), the jobs asked for during the transaction
    (shared/queue.py) are sent after the commit and dropped on rollback; without it they stay
    with the session for the caller to take."""
    async with factory() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            if queue is not None:
                take_pending(session)
            raise
        if queue is not None:
            await send(queue, take_pending(session))
