"""A few weeks of mutual support between CITES and CMS, made through the product's own API
and its matching hook: requests and offers of both kinds, proposals, accepted, declined and
cancelled allocations, a withdrawn offer, a cancelled and an expired request, travel,
on-site and remote work, a weekend-only window and two meetings."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.calendars.days import Place, public_holidays
from shared.db import session_scope
from shared.support.allocations.proposals import ProposalIn, apply_proposals
from shared.support.requests import service as requests
from tests.factories import activity_body, create, meeting_body

# The duty stations of the scenario's secretariats (CITES in Geneva, CMS in Bonn).
_STATIONS = (Place("CH", "GE"), Place("DE", "NW"))
_SPAN_DAYS = 42


def first_monday(today: date) -> date:
    """The Monday of next week but one, or a later one, such that the scenario's six weeks
    hold no public holiday at either duty station: its proposals name their days, and an
    accept re-checks that each is still a working day of both secretariats."""
    monday = today + timedelta(days=7 - today.weekday() + 7)
    while any(
        public_holidays(place, monday, monday + timedelta(days=_SPAN_DAYS - 1))
        for place in _STATIONS
    ):
        monday += timedelta(days=7)
    return monday


@dataclass
class Scenario:
    monday: date
    requests: dict[str, dict[str, Any]]
    offers: dict[str, dict[str, Any]]
    meetings: list[str]


def _days(monday: date, first: int, last: int, hours: int) -> tuple[tuple[date, int], ...]:
    return tuple((monday + timedelta(days=i), hours) for i in range(first, last + 1))


async def build(
    client: httpx.AsyncClient,
    session_factory: async_sessionmaker[AsyncSession],
    cites: dict[str, str],
    cms: dict[str, str],
    today: date | None = None,
) -> Scenario:
    """Load the scenario; `cites` and `cms` are keys with read, write and approve."""
    m = first_monday(today or date.today())

    def day(i: int) -> str:
        return (m + timedelta(days=i)).isoformat()

    keys = {"CITES": cites, "CMS": cms}
    sc = await create(
        client,
        "/v1/meetings",
        meeting_body(code="CITES SC99", start_date=day(21), end_date=day(25)),
        cites,
    )
    stc = await create(
        client,
        "/v1/meetings",
        meeting_body(
            code="CMS StC99",
            title="Ninety-ninth meeting of the CMS Standing Committee",
            secretariat="CMS",
            location="DE BON",
            start_date=day(35),
            end_date=day(37),
        ),
        cms,
    )
    await create(
        client,
        "/v1/activities",
        activity_body(title="Sharks", meeting_codes=[sc["code"], stc["code"]]),
        cms,
    )
    await create(
        client,
        "/v1/activities",
        activity_body(
            title="Nomenclature",
            theme="listings_nomenclature",
            species=[],
            lead_secretariat="CITES",
            partner_secretariats=[],
            meeting_codes=[sc["code"]],
        ),
        cites,
    )

    offer_specs = {
        "O1": ("CMS", "staff", ["registration", "documents"], 0, 27, 6, 60, "DE BON", True),
        "O2": ("CMS", "ict", ["av-streaming", "network"], 0, 41, 4, 80, "DE BON", False),
        "O3": ("CITES", "staff", ["documents", "translation-fr"], 0, 41, 8, 100, "CH GVA", False),
        "O4": ("CITES", "ict", ["web"], 7, 20, 5, 30, "CH GVA", False),
        "O5": ("CMS", "staff", ["registration"], 14, 27, 3, 200, "DE BON", False),
    }
    offers = {}
    for name, (sec, kind, skills, first, last, per_day, total, loc, travel) in offer_specs.items():
        offers[name] = await create(
            client,
            "/v1/capacity-offers",
            {
                "secretariat": sec,
                "kind": kind,
                "title": f"Offer {name}",
                "skills": skills,
                "start_date": day(first),
                "end_date": day(last),
                "hours_per_day": per_day,
                "total_hours": total,
                "location": loc,
                "travel_ok": travel,
            },
            keys[sec],
        )

    request_specs: dict[str, tuple[Any, ...]] = {
        # secretariat, kind, skills, first, last, hours, on_site location, meeting
        "R1": ("CITES", "staff", ["registration"], 21, 25, 40, "CH GVA", "CITES SC99"),
        "R2": ("CITES", "ict", ["av-streaming"], 14, 25, 30, None, "CITES SC99"),
        "R3": ("CMS", "staff", ["documents"], 0, 11, 50, None, "CMS StC99"),
        "R4": ("CMS", "staff", ["documents", "translation-fr"], 28, 37, 25, "DE BON", "CMS StC99"),
        "R5": ("CMS", "ict", ["web"], 7, 13, 10, None, None),
        "R6": ("CITES", "staff", ["registration"], 5, 6, 6, None, None),
        "R7": ("CITES", "ict", ["network"], 0, 4, 12, None, None),
        "R8": ("CITES", "staff", ["documents"], 14, 18, 20, None, "CITES SC99"),
        "R9": ("CMS", "staff", ["registration"], 0, 3, 8, None, None),
        "R10": ("CITES", "ict", [], 30, 33, 7, None, None),
    }
    reqs = {}
    for name, (sec, kind, skills, first, last, hours, on_site_at, meeting) in request_specs.items():
        body: dict[str, Any] = {
            "secretariat": sec,
            "kind": kind,
            "title": f"Request {name}",
            "skills": skills,
            "start_date": day(first),
            "end_date": day(last),
            "hours": hours,
            "priority": "high" if meeting else "normal",
            "on_site": on_site_at is not None,
            "location": on_site_at,
            "meeting_code": meeting,
        }
        reqs[name] = await create(client, "/v1/workload-requests", body, keys[sec])

    def proposal(r: str, o: str, first: int, last: int, hours: int, travel: bool) -> ProposalIn:
        days = _days(m, first, last, hours)
        return ProposalIn(
            uuid.UUID(reqs[r]["id"]),
            uuid.UUID(offers[o]["id"]),
            sum(h for _, h in days),
            days,
            travel,
        )

    async with session_scope(session_factory) as session:
        await apply_proposals(
            session,
            None,
            [
                proposal("R1", "O1", 21, 25, 6, True),
                proposal("R2", "O2", 14, 18, 4, False),
                proposal("R3", "O3", 0, 4, 8, False),
                proposal("R5", "O4", 7, 8, 5, False),
                proposal("R7", "O2", 0, 2, 4, False),
                proposal("R8", "O1", 14, 15, 6, False),
            ],
        )
    listed = (await client.get("/v1/allocations", params={"limit": 200}, headers=cites)).json()
    by_pair = {(a["request_id"], a["offer_id"]): a["id"] for a in listed["items"]}

    def allocation(r: str, o: str) -> str:
        return by_pair[(reqs[r]["id"], offers[o]["id"])]

    for r, o, key in [
        ("R1", "O1", cms),
        ("R3", "O3", cites),
        ("R5", "O4", cites),
        ("R8", "O1", cms),
    ]:
        response = await client.post(f"/v1/allocations/{allocation(r, o)}/accept", headers=key)
        assert response.status_code == 200, response.text
    declined = await client.post(
        f"/v1/allocations/{allocation('R7', 'O2')}/decline",
        json={"reason": "The network engineer is on leave"},
        headers=cms,
    )
    assert declined.status_code == 200, declined.text
    withdrawn = await client.post(
        f"/v1/capacity-offers/{offers['O4']['id']}/withdraw", headers=cites
    )
    assert withdrawn.status_code == 200, withdrawn.text
    cancelled = await client.post(f"/v1/workload-requests/{reqs['R8']['id']}/cancel", headers=cites)
    assert cancelled.status_code == 200, cancelled.text
    async with session_scope(session_factory) as session:
        expired = await requests.expire_overdue(session, now=m + timedelta(days=4))
    assert [str(i) for i in expired] == [reqs["R9"]["id"]]
    return Scenario(m, reqs, offers, [sc["code"], stc["code"]])
