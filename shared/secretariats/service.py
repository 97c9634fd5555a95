"""Secretariat rules and queries."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import crud
from shared.errors import Conflict, Unprocessable
from shared.secretariats import repository
from shared.secretariats.schemas import SecretariatCreate, SecretariatRead


async def list_secretariats(session: AsyncSession) -> list[SecretariatRead]:
    """Every secretariat, by code."""
    return await repository.list_all(session)


async def ensure_exist(session: AsyncSession, codes: Iterable[str], field: str) -> None:
    """422 naming the codes that are not secretariats."""
    wanted = set(codes)
    if not wanted:
        return
    require_known(wanted, await repository.existing_codes(session, wanted), field)


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


async def exists(session: AsyncSession, code: str) -> bool:
    """Whether `code` is a secretariat."""
    return await repository.exists(session, code)


async def create(session: AsyncSession, data: SecretariatCreate) -> SecretariatRead:
    """Add a secretariat; 409 if the code is taken."""
    await crud.advisory_lock(session, f"secretariat.code:{data.code}")
    if await repository.exists(session, data.code):
        raise Conflict(f"Secretariat {data.code} exists already: the code is taken.", field="code")
    await repository.add(session, data.code, data.name, data.duty_station)
    return SecretariatRead.model_validate(data.model_dump())
