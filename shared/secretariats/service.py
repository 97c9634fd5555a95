"""Secretariat rules and queries."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared import crud
from shared.errors import Conflict, Unprocessable
from shared.models import Secretariat
from shared.secretariats.schemas import SecretariatCreate, SecretariatRead


async def list_secretariats(session: AsyncSession) -> list[SecretariatRead]:
    """Every secretariat, by code."""
    rows = (
        await session.execute(
            select(Secretariat.code, Secretariat.name, Secretariat.duty_station).order_by(
                Secretariat.code
            )
        )
    ).mappings()
    return [SecretariatRead.model_validate(dict(r)) for r in rows]


async def ensure_exist(session: AsyncSession, codes: Iterable[str], field: str) -> None:
    """422 naming the codes that are not secretariats."""
    wanted = set(codes)
    if not wanted:
        return
    found = set(
        (await session.scalars(select(Secretariat.code).where(Secretariat.code.in_(wanted)))).all()
    )
    require_known(wanted, found, field)


def require_known(codes: Iterable[str], known: set[str], field: str) -> None:
    """422 naming the codes among `codes` that are not in `known` (the secretariats found)."""
    missing = sorted(set(codes) - known)
    if missing:
        raise Unprocessable(
            f"Unknown secretariat(s) in {field}: {', '.join(missing)}.",
            errors=[
                {"field": f"body.{field}", "message": f"unknown secretariat {m}", "type": "unknown"}
                for m in missing
            ],
        )


async def create(session: AsyncSession, data: SecretariatCreate) -> SecretariatRead:
    """Add a secretariat; 409 if the code is taken."""
    await crud.advisory_lock(session, f"secretariat.code:{data.code}")
    if await session.get(Secretariat, data.code) is not None:
        raise Conflict(f"Secretariat {data.code} exists already: the code is taken.", field="code")
    session.add(Secretariat(code=data.code, name=data.name, duty_station=data.duty_station))
    await session.flush()
    return SecretariatRead.model_validate(data.model_dump())
