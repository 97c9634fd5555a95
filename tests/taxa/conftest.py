"""Both test registers imported, as a fixture."""

from __future__ import annotations

import json

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.db import session_scope
from shared.taxa import service
from shared.taxa.sources import Register
from tests.taxa.registers import cites, cms


@pytest.fixture
async def registers(session_factory: async_sessionmaker[AsyncSession]) -> None:
    """The CITES and CMS test registers, imported through the service."""
    for code, items in (("CITES", cites()), ("CMS", cms())):
        register = Register(code)
        register.read("page.json", json.dumps({"taxon_concepts": items}))
        async with session_scope(session_factory) as session:
            await service.import_register(
                session, register, ("CITES", "CMS"), reference=f"{code} standard reference"
            )
