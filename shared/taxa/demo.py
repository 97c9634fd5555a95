"""The demo set's taxon registers: an illustration covering the species of the demo joint
activities, read from demo_register.json (to be replaced by an import of Species+)."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from shared.config import get_settings
from shared.taxa import service
from shared.taxa.sources import Register

DEMO_FILE = Path(__file__).with_name("demo_register.json")


async def load(session: AsyncSession) -> int:
    """Import the demo registers of the configured conventions; returns how many concepts
    were added or changed (0 when loaded again)."""
    conventions = get_settings().taxa_convention_codes
    doc = json.loads(DEMO_FILE.read_text(encoding="utf-8"))
    written = 0
    for convention, page in doc["registers"].items():
        if convention not in conventions:
            continue
        register = Register(convention)
        register.read_species_plus(DEMO_FILE.name, json.dumps(page))
        report = await service.import_register(session, register, conventions, partial=True)
        written += report["added"] + report["changed"]
    return written
