"""Secretariat rules and queries."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.models import Secretariat
from shared.secretariats.schemas import SecretariatRead


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
