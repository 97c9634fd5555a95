"""Every SQL statement of the calendars: duty stations and secretariat closures."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.calendars.schemas import ClosureRead, DutyStationRead
from shared.models import DutyStation, Secretariat, SecretariatClosure


async def duty_stations(session: AsyncSession) -> list[DutyStationRead]:
    """Every duty station mapped to a country, by UN/LOCODE."""
    rows = await session.execute(
        select(DutyStation.locode, DutyStation.country, DutyStation.subdivision).order_by(
            DutyStation.locode
        )
    )
    return [DutyStationRead.model_validate(dict(r)) for r in rows.mappings()]


async def duty_station(session: AsyncSession, locode: str) -> DutyStationRead | None:
    """One duty station, or None."""
    row = (
        (
            await session.execute(
                select(DutyStation.locode, DutyStation.country, DutyStation.subdivision).where(
                    DutyStation.locode == locode
                )
            )
        )
        .mappings()
        .first()
    )
    return DutyStationRead.model_validate(dict(row)) if row is not None else None


async def upsert_duty_station(
    session: AsyncSession, locode: str, country: str, subdivision: str | None
) -> None:
    """Create or replace the mapping of `locode`."""
    stmt = insert(DutyStation).values(locode=locode, country=country, subdivision=subdivision)
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[DutyStation.locode],
            set_={"country": country, "subdivision": subdivision, "updated_at": func.now()},
        )
    )


async def secretariat_stations(
    session: AsyncSession, codes: Iterable[str] | None = None
) -> dict[str, tuple[str, DutyStationRead | None]]:
    """Each secretariat's duty station and its mapping (None when the station is unmapped)."""
    stmt = select(
        Secretariat.code,
        Secretariat.duty_station,
        DutyStation.country,
        DutyStation.subdivision,
    ).outerjoin(DutyStation, DutyStation.locode == Secretariat.duty_station)
    if codes is not None:
        stmt = stmt.where(Secretariat.code.in_(list(codes)))
    out: dict[str, tuple[str, DutyStationRead | None]] = {}
    for code, locode, country, subdivision in (await session.execute(stmt)).all():
        station = (
            DutyStationRead(locode=locode, country=country, subdivision=subdivision)
            if country is not None
            else None
        )
        out[code] = (locode, station)
    return out


async def secretariats_at(session: AsyncSession, locode: str) -> list[str]:
    """The secretariats whose duty station is `locode`."""
    return list(
        (
            await session.scalars(
                select(Secretariat.code).where(Secretariat.duty_station == locode)
            )
        ).all()
    )


async def closures(
    session: AsyncSession,
    codes: Iterable[str],
    start: date | None = None,
    end: date | None = None,
) -> dict[str, dict[date, str]]:
    """Closure days of each secretariat in `codes` (optionally within start..end)."""
    wanted = list(codes)
    stmt = select(
        SecretariatClosure.secretariat_code, SecretariatClosure.day, SecretariatClosure.reason
    ).where(SecretariatClosure.secretariat_code.in_(wanted))
    if start is not None:
        stmt = stmt.where(SecretariatClosure.day >= start)
    if end is not None:
        stmt = stmt.where(SecretariatClosure.day <= end)
    out: dict[str, dict[date, str]] = {code: {} for code in wanted}
    for code, day, reason in (await session.execute(stmt.order_by(SecretariatClosure.day))).all():
        out[code][day] = reason
    return out


async def closure_list(session: AsyncSession, code: str) -> list[ClosureRead]:
    """A secretariat's closure days, by date."""
    found = await closures(session, [code])
    return [ClosureRead(date=d, reason=r) for d, r in found[code].items()]


async def add_closure(session: AsyncSession, code: str, day: date, reason: str) -> bool:
    """Record a closure day; False when that day is already a closure of the secretariat."""
    stmt = (
        insert(SecretariatClosure)
        .values(secretariat_code=code, day=day, reason=reason)
        .on_conflict_do_nothing(index_elements=["secretariat_code", "day"])
        .returning(SecretariatClosure.id)
    )
    return (await session.execute(stmt)).first() is not None


async def remove_closure(session: AsyncSession, code: str, day: date) -> bool:
    """Remove a closure day; False when there was none."""
    stmt = (
        delete(SecretariatClosure)
        .where(SecretariatClosure.secretariat_code == code, SecretariatClosure.day == day)
        .returning(SecretariatClosure.id)
    )
    return (await session.execute(stmt)).first() is not None


async def secretariat_exists(session: AsyncSession, code: str) -> bool:
    """Whether `code` is a secretariat."""
    return await session.get(Secretariat, code) is not None
