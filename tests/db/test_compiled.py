"""Statements run by the driver stay inside the session's transaction."""

from __future__ import annotations

import pytest
from sqlalchemy import bindparam, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.config import Settings
from shared.db import create_engine, create_read_session_factory
from shared.db.compiled import Compiled
from shared.models import Secretariat

NOW = Compiled(select(func.now()))
SECRETARIAT = Compiled(select(Secretariat.name).where(Secretariat.code == bindparam("code")))


async def test_driver_statement_first_opens_the_session_transaction(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with session_factory() as session:
        # now() is the transaction's start: equal only if both ran in one transaction.
        row = await NOW.fetchrow(session)
        assert row is not None
        assert row[0] == await session.scalar(select(func.now()))
        await session.rollback()


async def test_driver_sees_the_session_writes_and_rollback_undoes_them(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with session_factory() as session:
        session.add(Secretariat(code="IPBES", name="IPBES", duty_station="DE BON"))
        await session.flush()
        row = await SECRETARIAT.fetchrow(session, code="IPBES")
        assert row is not None
        assert row["name"] == "IPBES"
        await session.rollback()
        assert await SECRETARIAT.fetchrow(session, code="IPBES") is None


async def test_read_sessions_run_each_statement_on_its_own(settings: Settings) -> None:
    read_engine = create_engine(settings.require_database_url(), pool_size=1, autocommit=True)
    async with create_read_session_factory(read_engine)() as session:
        first = await NOW.fetchrow(session)
        second = await NOW.fetchrow(session)
        assert first is not None
        assert second is not None
        assert first[0] < second[0]
        assert (await SECRETARIAT.fetchrow(session, code="CITES")) is not None
    await read_engine.dispose()


async def test_driver_errors_are_sqlalchemy_errors(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    duplicate = Compiled(
        insert(Secretariat).values(code=bindparam("code"), name="x", duty_station="CH GVA")
    )
    async with session_factory() as session:
        async with session.begin_nested():
            await duplicate.execute(session, code="IPBES")
        with pytest.raises(IntegrityError):
            async with session.begin_nested():
                await duplicate.execute(session, code="CITES")
        # The savepoint took the failure: the transaction goes on.
        assert await SECRETARIAT.fetchrow(session, code="IPBES") is not None
        await session.rollback()


async def test_a_failing_first_statement_raises_the_sqlalchemy_error_and_rolls_back(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    duplicate = Compiled(
        insert(Secretariat).values(code=bindparam("code"), name="x", duty_station="CH GVA")
    )
    async with session_factory() as session:
        with pytest.raises(IntegrityError):
            await duplicate.execute(session, code="CITES")
        await session.rollback()
        assert await SECRETARIAT.fetchrow(session, code="CITES") is not None
