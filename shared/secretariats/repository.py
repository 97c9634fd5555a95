"""Every statement on secretariats."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.models import Secretariat
from shared.secretariats.schemas import SecretariatRead


async def list_all(session: AsyncSession) -> list[SecretariatRead]:
    """Every secretariat, by code."""
    rows = (
        await session.execute(
            select(Secretariat.code, Secretariat.name, Secretariat.duty_station).order_by(
                Secretariat.code
            )
        )
    ).mappings()
    return [SecretariatRead.model_validate(dict(r)) for r in rows]


async def existing_codes(session: AsyncSession, codes: Iterable[str]) -> set[str]:
    """Which of `codes` are secretariats."""
    return set(
        (await session.scalars(select(Secretariat.code).where(Secretariat.code.in_(codes)))).all()
    )


async def exists(session: AsyncSession, code: str) -> bool:
    """Whether `code` is a secretariat."""
    return await session.get(Secretariat, code) is not None


async def add(session: AsyncSession, code: str, name: str, duty_station: str) -> None:
    """Insert a secretariat."""
    session.add(Secretariat(code=code, name=name, duty_station=duty_station))
    await session.flush()
