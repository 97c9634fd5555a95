"""A unique index that fires despite the services' checks still names the field."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.db.integrity import conflict_for, unique_field
from shared.models import Meeting, Secretariat


def _meeting(code: str, source: str | None = None) -> Meeting:
    return Meeting(
        code=code,
        title="Standing Committee",
        secretariat_code="CITES",
        body="Standing Committee",
        location="CH GVA",
        start_date=date(2030, 3, 1),
        end_date=date(2030, 3, 5),
        external_source=source,
        external_id="sc1" if source else None,
    )


@pytest.mark.parametrize(
    ("first", "second", "field"),
    [
        (_meeting("CITES SC1"), _meeting("CITES SC1"), "code"),
        (_meeting("CITES SC1", "cal"), _meeting("CITES SC2", "cal"), "external_ref"),
        (
            Secretariat(code="CITES", name="Again", duty_station="CH GVA"),
            None,
            "code",
        ),
    ],
    ids=["meeting-code", "meeting-external-ref", "secretariat-code"],
)
async def test_a_unique_violation_becomes_a_409_naming_the_field(
    session_factory: async_sessionmaker[AsyncSession],
    first: object,
    second: object | None,
    field: str,
) -> None:
    async with session_factory() as session:
        session.add(first)
        if second is not None:
            await session.flush()
            session.add(second)
        with pytest.raises(IntegrityError) as caught:
            await session.flush()
        await session.rollback()
    assert unique_field(caught.value) == field
    conflict = conflict_for(caught.value, "meeting")
    assert conflict is not None
    assert conflict.status == 409 and conflict.extra["field"] == field
    assert field in conflict.detail


async def test_other_integrity_errors_are_not_taken_for_conflicts(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with session_factory() as session:
        unknown_secretariat = _meeting("CITES SC3")
        unknown_secretariat.secretariat_code = "NONE"  # a foreign-key violation
        session.add(unknown_secretariat)
        with pytest.raises(IntegrityError) as caught:
            await session.flush()
        await session.rollback()
    assert unique_field(caught.value) is None
    assert conflict_for(caught.value) is None
