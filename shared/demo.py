"""`tandem seed-demo`: a small, realistic data set drawn from the public record of the CITES and
CMS secretariats' collaboration, plus upcoming meetings dated relative to today."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from shared import demo_history
from shared.activities import service as activities
from shared.activities.schemas import ActivityWrite
from shared.calendars import service as calendars
from shared.db import crud
from shared.forecast import service as forecast
from shared.matching import service as matching
from shared.meetings import service as meetings
from shared.meetings.schemas import MeetingWrite
from shared.models import Allocation, Meeting
from shared.policy import Principal
from shared.support.allocations.proposals import ProposalIn, apply_proposals
from shared.support.offers import service as offers
from shared.support.offers.schemas import CapacityOfferWrite
from shared.support.requests import service as requests
from shared.support.requests.schemas import WorkloadRequestWrite
from shared.taxa import demo as taxa_demo

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


def _days(start: date, count: int) -> list[date]:
    """`count` working days from `start` (a Monday) on."""
    out: list[date] = []
    day = start
    while len(out) < count:
        if day.weekday() < 5:
            out.append(day)
        day += timedelta(days=1)
    return out


def demo_support(today: date) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Workload requests and capacity offers around the two upcoming meetings."""
    meeting_list = demo_meetings(today)
    cites_meeting, cms_meeting = meeting_list[3], meeting_list[4]
    sc, stc = cites_meeting["start_date"], cms_meeting["start_date"]
    asks = [
        {
            "secretariat": "CITES",
            "kind": "staff",
            "title": "Registration and documents desk for the Standing Committee",
            "description": "Two people to register delegations, issue badges and hand out "
            "in-session documents in Geneva.",
            "skills": ["registration", "documents"],
            "start_date": sc - timedelta(days=7),
            "end_date": sc + timedelta(days=4),
            "hours": 60,
            "priority": "high",
            "on_site": True,
            "location": "CH GVA",
            "meeting_code": cites_meeting["code"],
        },
        {
            "secretariat": "CITES",
            "kind": "ict",
            "title": "Web streaming of the Standing Committee sessions",
            "description": "Set up and run the public webcast of the plenary sessions.",
            "skills": ["av-streaming"],
            "start_date": sc,
            "end_date": sc + timedelta(days=4),
            "hours": 30,
            "priority": "normal",
            "on_site": True,
            "location": "CH GVA",
            "meeting_code": cites_meeting["code"],
        },
        {
            "secretariat": "CMS",
            "kind": "ict",
            "title": "AV-streaming and network support for the Standing Committee in Bonn",
            "description": "Hybrid meeting: room microphones, streaming, and a stable "
            "conference network for remote participants.",
            "skills": ["av-streaming", "network"],
            "start_date": stc - timedelta(days=2),
            "end_date": stc + timedelta(days=2),
            "hours": 40,
            "priority": "critical",
            "on_site": True,
            "location": "DE BON",
            "meeting_code": cms_meeting["code"],
        },
        {
            "secretariat": "CMS",
            "kind": "staff",
            "title": "Editing of pre-session documents",
            "description": "Copy-editing of working documents before their posting deadline; "
            "can be done remotely.",
            "skills": ["documents", "editing"],
            "start_date": stc - timedelta(days=21),
            "end_date": stc - timedelta(days=3),
            "hours": 24,
            "priority": "normal",
            "on_site": False,
            "meeting_code": cms_meeting["code"],
        },
    ]
    gives = [
        {
            "secretariat": "CMS",
            "kind": "staff",
            "title": "Meeting services assistant",
            "description": "Experienced with registration, documents and editing.",
            "skills": ["registration", "documents", "editing"],
            "start_date": sc - timedelta(days=14),
            "end_date": sc + timedelta(days=4),
            "hours_per_day": 8,
            "total_hours": 50,
            "location": "DE BON",
            "travel_ok": True,
        },
        {
            "secretariat": "CMS",
            "kind": "ict",
            "title": "AV technician",
            "description": "Streaming and room audio for hybrid sessions.",
            "skills": ["av-streaming", "network"],
            "start_date": sc,
            "end_date": sc + timedelta(days=4),
            "hours_per_day": 6,
            "total_hours": 24,
            "location": "DE BON",
            "travel_ok": True,
        },
        {
            "secretariat": "CITES",
            "kind": "ict",
            "title": "Network and streaming engineer",
            "description": "Conference networks and webcasting.",
            "skills": ["av-streaming", "network", "webcast"],
            "start_date": stc - timedelta(days=7),
            "end_date": stc + timedelta(days=4),
            "hours_per_day": 8,
            "total_hours": 40,
            "location": "CH GVA",
            "travel_ok": True,
        },
        {
            "secretariat": "CITES",
            "kind": "staff",
            "title": "Editor and documents officer",
            "description": "Half days of editing, from Geneva.",
            "skills": ["documents", "editing"],
            "start_date": stc - timedelta(days=28),
            "end_date": stc - timedelta(days=3),
            "hours_per_day": 4,
            "total_hours": 24,
            "location": "CH GVA",
            "travel_ok": False,
        },
    ]
    return asks, gives


def demo_proposals(
    today: date, request_ids: list[uuid.UUID], offer_ids: list[uuid.UUID]
) -> list[ProposalIn]:
    """Example proposals, waiting for a decision until the first matching run replaces them."""
    meeting_list = demo_meetings(today)
    sc, stc = meeting_list[3]["start_date"], meeting_list[4]["start_date"]
    plan = [
        (0, 0, [(d, 8) for d in _days(sc, 5)], True),
        (1, 1, [(d, 6) for d in _days(sc, 3)], True),
        (2, 2, [(d, 8) for d in _days(stc, 3)], True),
        (3, 3, [(d, 4) for d in _days(stc - timedelta(days=14), 5)], False),
    ]
    return [
        ProposalIn(request_ids[r], offer_ids[o], sum(h for _, h in days), tuple(days), travel)
        for r, o, days, travel in plan
    ]


async def _seed_support(
    session: AsyncSession, admin: Principal, today: date, created: dict[str, int]
) -> None:
    """Requests and offers created once (later edits by users are left alone), and example
    proposals when none of them has any allocation yet."""
    asks, gives = demo_support(today)
    request_ids, offer_ids = [], []
    for i, raw in enumerate(asks):
        ref = f"workload-request-{i}"
        found = await crud.find_by_external_ref(
            session, requests.REQUESTS, raw["secretariat"], DEMO_SOURCE, ref
        )
        if found is None:
            data = WorkloadRequestWrite.model_validate(
                {**raw, "external_ref": {"source": DEMO_SOURCE, "id": ref}}
            )
            found = await requests.create(session, admin, data)
            created["workload_requests"] += 1
        request_ids.append(found.id)
    for i, raw in enumerate(gives):
        ref = f"capacity-offer-{i}"
        offer = await crud.find_by_external_ref(
            session, offers.OFFERS, raw["secretariat"], DEMO_SOURCE, ref
        )
        if offer is None:
            data_o = CapacityOfferWrite.model_validate(
                {**raw, "external_ref": {"source": DEMO_SOURCE, "id": ref}}
            )
            offer = await offers.create(session, admin, data_o)
            created["capacity_offers"] += 1
        offer_ids.append(offer.id)
    if created["workload_requests"] < len(asks) or await crud.count(session, Allocation):
        return
    run = await matching.record_run(session, "demo data: example proposals")
    diff = await apply_proposals(
        session, run.id, demo_proposals(today, request_ids, offer_ids), actor="seed-demo"
    )
    created["proposals"] = len(diff.added)


async def is_empty(session: AsyncSession) -> bool:
    """True when no meeting exists yet (a fresh deployment)."""
    return await crud.count(session, Meeting) == 0


async def seed_demo(session: AsyncSession, today: date | None = None) -> dict[str, int]:
    """Load the demo set; running it again changes nothing (upserts by external reference)."""
    today = today or date.today()
    admin = Principal(uuid.UUID(int=0), "seed-demo", None, frozenset({"admin"}))
    created = {
        "meetings": 0,
        "activities": 0,
        "workload_requests": 0,
        "capacity_offers": 0,
        "proposals": 0,
    }
    upcoming: list[str] = []
    for i, raw in enumerate(demo_meetings(today)):
        data = MeetingWrite.model_validate(raw)
        _, made = await meetings.upsert_by_ref(
            session, admin, data.secretariat, DEMO_SOURCE, f"meeting-{i}", data
        )
        created["meetings"] += made
        if raw["start_date"] > today:
            upcoming.append(raw["code"])
    for i, raw in enumerate(demo_activities(upcoming)):
        act = ActivityWrite.model_validate(raw)
        _, made = await activities.upsert_by_ref(
            session, admin, act.lead_secretariat, DEMO_SOURCE, f"activity-{i}", act
        )
        created["activities"] += made
    await _seed_support(session, admin, today, created)
    await _seed_history(session, admin, today)
    created["taxa"] = await taxa_demo.load(session)
    return created


async def _seed_history(session: AsyncSession, admin: Principal, today: date) -> None:
    """Illustrative past meetings with their requests, and year-end closures (see
    shared/demo_history.py); counted apart from the demo set proper."""
    past, asks = demo_history.history(today)
    for raw in past:
        data = MeetingWrite.model_validate(raw)
        await meetings.upsert_by_ref(
            session,
            admin,
            data.secretariat,
            demo_history.HISTORY_SOURCE,
            raw["code"].replace(" ", "-"),
            data,
        )
    await forecast.add_past_requests(session, demo_history.HISTORY_SOURCE, asks)
    await calendars.ensure_closures(session, demo_history.year_end_closures(today))
