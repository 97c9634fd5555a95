"""`tandem seed-demo`: a small, realistic data set drawn from the public record of the CITES and
CMS secretariats' collaboration, plus upcoming meetings dated relative to today."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.activities import service as activities
from shared.activities.schemas import ActivityWrite
from shared.meetings import service as meetings
from shared.meetings.schemas import MeetingWrite
from shared.models import Meeting
from shared.policy import Principal

DEMO_SOURCE = "tandem-demo"


def _next_monday(day: date) -> date:
    return day + timedelta(days=(7 - day.weekday()) % 7 or 7)


def demo_meetings(today: date) -> list[dict[str, Any]]:
    """Past meetings from the record, and two upcoming ones six and ten weeks ahead."""
    cites_sc = _next_monday(today + timedelta(weeks=6) - timedelta(days=7))
    cms_stc = _next_monday(today + timedelta(weeks=10) - timedelta(days=7))
    return [
        {
            "code": "CITES SC61",
            "title": "Sixty-first meeting of the CITES Standing Committee",
            "secretariat": "CITES",
            "body": "Standing Committee",
            "location": "CH GVA",
            "start_date": date(2011, 8, 15),
            "end_date": date(2011, 8, 19),
        },
        {
            "code": "CMS StC38",
            "title": "Thirty-eighth meeting of the CMS Standing Committee",
            "secretariat": "CMS",
            "body": "Standing Committee",
            "location": "NO BGO",
            "start_date": date(2011, 11, 19),
            "end_date": date(2011, 11, 19),
        },
        {
            "code": "CMS CoP10",
            "title": "Tenth meeting of the Conference of the Parties to CMS",
            "secretariat": "CMS",
            "body": "Conference of the Parties",
            "location": "NO BGO",
            "start_date": date(2011, 11, 20),
            "end_date": date(2011, 11, 25),
        },
        {
            "code": f"CITES SC{80 + (today.year - 2026)}",
            "title": "Meeting of the CITES Standing Committee",
            "secretariat": "CITES",
            "body": "Standing Committee",
            "location": "CH GVA",
            "start_date": cites_sc,
            "end_date": cites_sc + timedelta(days=4),
        },
        {
            "code": f"CMS StC{56 + (today.year - 2026)}",
            "title": "Meeting of the CMS Standing Committee",
            "secretariat": "CMS",
            "body": "Standing Committee",
            "location": "DE BON",
            "start_date": cms_stc,
            "end_date": cms_stc + timedelta(days=2),
        },
    ]


def demo_activities(upcoming: list[str]) -> list[dict[str, Any]]:
    """Joint activities of the two secretariats."""
    cites_next, cms_next = upcoming
    return [
        {
            "title": "African elephant: joint support to range States",
            "description": "Coordinated work on Loxodonta africana under the CMS Memorandum of "
            "Understanding on West African elephants and the CITES MIKE and ETIS programmes.",
            "theme": "species",
            "species": ["Loxodonta africana"],
            "lead_secretariat": "CITES",
            "partner_secretariats": ["CMS"],
            "status": "ongoing",
            "start_date": date(2011, 1, 1),
            "meeting_codes": ["CITES SC61", "CMS CoP10", cites_next],
            "tags": ["elephants", "ivory"],
        },
        {
            "title": "Sharks: conservation and sustainable trade",
            "description": "Joint work on migratory sharks listed in the CMS appendices and "
            "commercially traded sharks listed in CITES, including the great white shark.",
            "theme": "species",
            "species": ["Carcharodon carcharias", "Cetorhinus maximus", "Rhincodon typus"],
            "lead_secretariat": "CMS",
            "partner_secretariats": ["CITES"],
            "status": "ongoing",
            "start_date": date(2010, 2, 12),
            "meeting_codes": ["CMS CoP10", cms_next],
            "tags": ["sharks", "marine"],
        },
        {
            "title": "Saiga antelope: medium-term international work programme",
            "description": "Implementation of the Saiga MoU work programme and trade controls "
            "on saiga horn in range and consumer States.",
            "theme": "species",
            "species": ["Saiga tatarica"],
            "lead_secretariat": "CMS",
            "partner_secretariats": ["CITES"],
            "status": "ongoing",
            "start_date": date(2011, 9, 1),
            "meeting_codes": ["CITES SC61", "CMS StC38", cms_next],
            "tags": ["saiga"],
        },
        {
            "title": "Gorillas: Agreement on the Conservation of Gorillas and their Habitats",
            "description": "Joint support to gorilla range States against poaching and illegal "
            "trade in great apes.",
            "theme": "species",
            "species": ["Gorilla gorilla", "Gorilla beringei"],
            "lead_secretariat": "CMS",
            "partner_secretariats": ["CITES"],
            "status": "ongoing",
            "start_date": date(2008, 6, 1),
            "meeting_codes": ["CMS CoP10"],
            "tags": ["great-apes"],
        },
        {
            "title": "Harmonising species listings and nomenclature between the appendices",
            "description": "Aligning the standard nomenclature references adopted by the CITES "
            "and CMS Conferences of the Parties so that species lists match.",
            "theme": "listings_nomenclature",
            "species": [],
            "lead_secretariat": "CITES",
            "partner_secretariats": ["CMS"],
            "status": "ongoing",
            "start_date": date(2011, 1, 1),
            "meeting_codes": ["CITES SC61", "CMS CoP10", cites_next, cms_next],
            "tags": ["nomenclature"],
        },
        {
            "title": "Support to National Biodiversity Strategies and Action Plans",
            "description": "Guidance to Parties on integrating CITES and CMS obligations into "
            "their NBSAPs under the Strategic Plan for Biodiversity.",
            "theme": "nbsap",
            "species": [],
            "lead_secretariat": "CMS",
            "partner_secretariats": ["CITES"],
            "status": "ongoing",
            "start_date": date(2011, 3, 1),
            "meeting_codes": ["CMS CoP10", cms_next],
            "tags": ["nbsap"],
        },
        {
            "title": "Biodiversity Liaison Group",
            "description": "Cooperation of the secretariats of the biodiversity-related "
            "conventions through the Biodiversity Liaison Group.",
            "theme": "liaison",
            "species": [],
            "lead_secretariat": "CITES",
            "partner_secretariats": ["CMS"],
            "status": "ongoing",
            "start_date": date(2004, 5, 1),
            "meeting_codes": [cites_next],
            "tags": ["blg"],
        },
        {
            "title": "Preparing the Standing Committee meetings: shared ICT and staff support",
            "description": "Lending registration, documents and AV-streaming staff between the "
            "secretariats in the weeks before and during the governing-body meetings.",
            "theme": "governing_bodies",
            "species": [],
            "lead_secretariat": "CITES",
            "partner_secretariats": ["CMS"],
            "status": "planned",
            "meeting_codes": [cites_next, cms_next],
            "tags": ["meeting-prep"],
        },
    ]


async def is_empty(session: AsyncSession) -> bool:
    """True when no meeting exists yet (a fresh deployment)."""
    return (await session.scalar(select(func.count()).select_from(Meeting))) == 0


async def seed_demo(session: AsyncSession, today: date | None = None) -> dict[str, int]:
    """Load the demo set; running it again changes nothing (upserts by external reference)."""
    today = today or date.today()
    admin = Principal(uuid.UUID(int=0), "seed-demo", None, frozenset({"admin"}))
    created = {"meetings": 0, "activities": 0}
    upcoming: list[str] = []
    for i, raw in enumerate(demo_meetings(today)):
        data = MeetingWrite.model_validate(raw)
        _, made = await meetings.upsert_by_ref(session, admin, DEMO_SOURCE, f"meeting-{i}", data)
        created["meetings"] += made
        if raw["start_date"] > today:
            upcoming.append(raw["code"])
    for i, raw in enumerate(demo_activities(upcoming)):
        act = ActivityWrite.model_validate(raw)
        _, made = await activities.upsert_by_ref(session, admin, DEMO_SOURCE, f"activity-{i}", act)
        created["activities"] += made
    return created
