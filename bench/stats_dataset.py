"""The `realistic` data set of the stats benchmark: a year of mutual support between the two
secretariats, shaped like the real thing.

- 10 governing-body meetings in the year; about two thirds of the 500 workload requests
  prepare one of them (their windows end with the meeting and start up to eight weeks
  before it), so demand peaks in the weeks before each meeting; the others are spread over
  the year, from one day to three months long.
- 150 capacity offers of two to sixteen weeks, 2 to 8 hours a day, each at its
  secretariat's duty station, 40 % ready to travel.
- Allocations made the way matching makes them (eligible pairs only, day by day within the
  offers' daily and total limits and the requests' hours), then decided: in the past mostly
  accepted, in the future a mix of accepted and still proposed, some declined or cancelled.
  Request and offer figures and statuses follow the allocations, as the product keeps them.
- 60 joint activities reported to the meetings.

Seeded, so two runs load the same rows. Rows are written with COPY: the product's services
would take minutes for this, and the benchmark is about reading them.
"""

from __future__ import annotations

import random
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg

from shared.support.rules import request_status

ICT_SKILLS = [
    "av-streaming",
    "network",
    "web",
    "helpdesk",
    "database",
    "security",
    "video-conference",
    "sharepoint",
]
STAFF_SKILLS = [
    "registration",
    "documents",
    "translation-fr",
    "translation-es",
    "editing",
    "logistics",
    "finance",
    "note-taking",
    "interpretation",
]
DUTY_STATION = {"CITES": "CH GVA", "CMS": "DE BON"}
WEIGHT = {"low": 1, "normal": 2, "high": 4, "critical": 8}
THEMES = ["species", "listings_nomenclature", "governing_bodies", "nbsap", "liaison", "funding"]
SPECIES = [
    "Loxodonta africana",
    "Carcharodon carcharias",
    "Saiga tatarica",
    "Gorilla gorilla",
    "Rhincodon typus",
    "Panthera uncia",
    "Acinonyx jubatus",
    "Manta birostris",
]


@dataclass
class Meeting:
    code: str
    secretariat: str
    title: str
    body: str
    location: str
    start: date
    end: date


@dataclass
class Request:
    id: uuid.UUID
    secretariat: str
    kind: str
    skills: list[str]
    start: date
    end: date
    hours: int
    priority: str
    on_site: bool
    location: str | None
    meeting: str | None
    cancelled: bool
    proposed: int = 0
    accepted: int = 0


@dataclass
class Offer:
    id: uuid.UUID
    secretariat: str
    kind: str
    skills: list[str]
    start: date
    end: date
    per_day: int
    total: int
    location: str
    travel_ok: bool
    withdrawn: bool
    used_total: int = 0
    used_day: dict[date, int] = field(default_factory=lambda: defaultdict(int))
    proposed: int = 0
    accepted: int = 0


@dataclass
class Allocation:
    id: uuid.UUID
    request: Request
    offer: Offer
    days: list[tuple[date, int]]
    travel: bool
    status: str


@dataclass
class Dataset:
    first_day: date
    last_day: date
    meetings: list[Meeting]
    requests: list[Request]
    offers: list[Offer]
    allocations: list[Allocation]
    activities: list[dict[str, Any]]

    @property
    def allocation_days(self) -> int:
        return sum(len(a.days) for a in self.allocations)


def _working(day: date) -> bool:
    return day.weekday() < 5


def _span(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def _meetings(first: date, rng: random.Random) -> list[Meeting]:
    plan = [
        ("CITES SC90", "CITES", "Standing Committee", "CH GVA", 3, 5),
        ("CMS ScC-SC9", "CMS", "Scientific Council", "DE BON", 7, 3),
        ("CITES AC36", "CITES", "Animals Committee", "CH GVA", 11, 5),
        ("CMS StC60", "CMS", "Standing Committee", "DE BON", 16, 2),
        ("CITES PC30", "CITES", "Plants Committee", "CH GVA", 20, 5),
        ("CITES CoP21", "CITES", "Conference of the Parties", "UZ SKD", 28, 12),
        ("CMS CoP15", "CMS", "Conference of the Parties", "BR BSB", 36, 6),
        ("CITES SC91", "CITES", "Standing Committee", "CH GVA", 40, 1),
        ("CMS StC61", "CMS", "Standing Committee", "DE BON", 45, 2),
        ("CITES SC92", "CITES", "Standing Committee", "CH GVA", 50, 5),
    ]
    return [
        Meeting(
            code,
            sec,
            f"{body} ({code})",
            body,
            loc,
            first + timedelta(weeks=week),
            first + timedelta(weeks=week, days=length - 1),
        )
        for code, sec, body, loc, week, length in plan
    ]


def _requests(
    first: date, last: date, meetings: list[Meeting], rng: random.Random, count: int
) -> list[Request]:
    out = []
    for _ in range(count):
        kind = "ict" if rng.random() < 0.4 else "staff"
        pool = ICT_SKILLS if kind == "ict" else STAFF_SKILLS
        skills = sorted(rng.sample(pool, rng.choice([1, 1, 1, 2, 2, 3])))
        meeting = rng.choice(meetings) if rng.random() < 0.65 else None
        if meeting is not None:
            secretariat = (
                meeting.secretariat if rng.random() < 0.85 else rng.choice(["CITES", "CMS"])
            )
            end = meeting.end
            start = max(
                first, meeting.start - timedelta(days=rng.choice([0, 3, 7, 14, 21, 35, 56]))
            )
            on_site = rng.random() < 0.35
            location = meeting.location if on_site else None
        else:
            secretariat = rng.choice(["CITES", "CMS"])
            length = int(rng.choice([1, 2, 5, 5, 10, 10, 15, 20, 40, 65, 90]))
            start = first + timedelta(days=rng.randrange((last - first).days - length))
            end = start + timedelta(days=length - 1)
            on_site = rng.random() < 0.1
            location = DUTY_STATION[secretariat] if on_site else None
        working = sum(1 for d in _span(start, end) if _working(d)) or 1
        hours = max(4, min(2000, int(working * rng.choice([2, 3, 4, 6, 8]) * rng.uniform(0.3, 1))))
        out.append(
            Request(
                uuid.uuid4(),
                secretariat,
                kind,
                skills,
                start,
                end,
                hours,
                rng.choices(["low", "normal", "high", "critical"], [15, 55, 25, 5])[0],
                on_site,
                location,
                meeting.code if meeting else None,
                rng.random() < 0.04,
            )
        )
    return out


def _offers(first: date, last: date, rng: random.Random, count: int) -> list[Offer]:
    out = []
    for _ in range(count):
        secretariat = rng.choice(["CITES", "CMS"])
        kind = "ict" if rng.random() < 0.45 else "staff"
        pool = ICT_SKILLS if kind == "ict" else STAFF_SKILLS
        weeks = rng.randint(2, 16)
        start = first + timedelta(days=rng.randrange((last - first).days - weeks * 7))
        start -= timedelta(days=start.weekday())
        end = start + timedelta(weeks=weeks, days=-3)
        per_day = rng.randint(2, 8)
        working = sum(1 for d in _span(start, end) if _working(d))
        out.append(
            Offer(
                uuid.uuid4(),
                secretariat,
                kind,
                sorted(rng.sample(pool, rng.randint(3, 6))),
                start,
                end,
                per_day,
                max(1, int(per_day * working * rng.uniform(0.4, 1.0))),
                DUTY_STATION[secretariat],
                rng.random() < 0.4,
                rng.random() < 0.05,
            )
        )
    return out


def _eligible(r: Request, o: Offer) -> tuple[bool, bool]:
    """(eligible, travel) by rules 1, 2, 3 and 5 of matching.md."""
    if r.kind != o.kind or r.secretariat == o.secretariat or not set(r.skills) <= set(o.skills):
        return False, False
    if r.on_site and o.location != r.location:
        return o.travel_ok, o.travel_ok
    return True, False


def _allocate(
    requests: list[Request], offers: list[Offer], today: date, rng: random.Random
) -> list[Allocation]:
    out = []
    order = sorted(requests, key=lambda r: (-WEIGHT[r.priority], r.start, str(r.id)))
    for r in order:
        if r.cancelled and rng.random() < 0.5:
            continue
        remaining = r.hours
        candidates = [o for o in offers if o.start <= r.end and r.start <= o.end]
        rng.shuffle(candidates)
        for o in candidates:
            ok, travel = _eligible(r, o)
            if not ok or remaining <= 0:
                continue
            days = []
            for d in _span(max(r.start, o.start), min(r.end, o.end)):
                if not _working(d) or remaining <= 0 or o.used_total >= o.total:
                    continue
                give = min(o.per_day - o.used_day[d], remaining, o.total - o.used_total, 8)
                if give <= 0:
                    continue
                days.append((d, give))
                remaining -= give
                o.used_total += give
                o.used_day[d] += give
            if not days:
                continue
            past = r.end < today
            weights = [85, 0, 10, 5] if past else [45, 40, 10, 5]
            status = rng.choices(["accepted", "proposed", "declined", "cancelled"], weights)[0]
            if r.cancelled:
                status = "cancelled"
            if o.withdrawn and status == "proposed":
                status = "declined"
            if status in ("declined", "cancelled"):
                # Not counted against any limit: give the hours back.
                for d, h in days:
                    o.used_day[d] -= h
                o.used_total -= sum(h for _, h in days)
                remaining += sum(h for _, h in days)
            out.append(Allocation(uuid.uuid4(), r, o, days, travel, status))
    for a in out:
        hours = sum(h for _, h in a.days)
        if a.status == "proposed":
            a.request.proposed += hours
            a.offer.proposed += hours
        elif a.status == "accepted":
            a.request.accepted += hours
            a.offer.accepted += hours
    return out


def _activities(meetings: list[Meeting], rng: random.Random, count: int) -> list[dict[str, Any]]:
    out = []
    for i in range(count):
        lead = rng.choice(["CITES", "CMS"])
        theme = rng.choice(THEMES)
        out.append(
            {
                "title": f"Joint activity {i + 1}: {theme.replace('_', ' ')}",
                "theme": theme,
                "species": sorted(rng.sample(SPECIES, rng.randint(1, 3)))
                if theme == "species"
                else [],
                "lead": lead,
                "partners": ["CMS" if lead == "CITES" else "CITES"],
                "status": rng.choices(["planned", "ongoing", "completed", "dropped"], [3, 6, 2, 1])[
                    0
                ],
                "meeting_codes": sorted(m.code for m in rng.sample(meetings, rng.randint(1, 3))),
            }
        )
    return out


def generate(today: date, *, seed: int = 7, requests: int = 500, offers: int = 150) -> Dataset:
    """A year (26 weeks back, 26 ahead) of requests, offers, allocations and meetings."""
    rng = random.Random(seed)
    first = today - timedelta(days=today.weekday(), weeks=26)
    last = first + timedelta(weeks=52, days=-1)
    meetings = _meetings(first, rng)
    reqs = _requests(first, last, meetings, rng, requests)
    offs = _offers(first, last, rng, offers)
    allocations = _allocate(reqs, offs, today, rng)
    return Dataset(first, last, meetings, reqs, offs, allocations, _activities(meetings, rng, 60))


def _request_status(r: Request, today: date) -> str:
    if r.cancelled:
        return "cancelled"
    status = request_status("open", r.hours, r.proposed, r.accepted)
    if r.end < today and status != "fulfilled":
        return "expired"
    return status


async def load(dsn: str, data: Dataset, today: date) -> None:
    """Write the data set into a migrated, empty database."""
    now = datetime.now(UTC)
    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction():
            await conn.copy_records_to_table(
                "meeting",
                columns=[
                    "code",
                    "title",
                    "secretariat_code",
                    "body",
                    "location",
                    "start_date",
                    "end_date",
                ],
                records=[
                    (m.code, m.title, m.secretariat, m.body, m.location, m.start, m.end)
                    for m in data.meetings
                ],
            )
            await conn.copy_records_to_table(
                "activity",
                columns=[
                    "title",
                    "theme",
                    "species",
                    "lead_secretariat_code",
                    "partner_secretariat_codes",
                    "status",
                    "start_date",
                    "meeting_codes",
                ],
                records=[
                    (
                        a["title"],
                        a["theme"],
                        a["species"],
                        a["lead"],
                        a["partners"],
                        a["status"],
                        data.first_day,
                        a["meeting_codes"],
                    )
                    for a in data.activities
                ],
            )
            await conn.copy_records_to_table(
                "workload_request",
                columns=[
                    "id",
                    "secretariat_code",
                    "kind",
                    "title",
                    "skills",
                    "start_date",
                    "end_date",
                    "hours",
                    "priority",
                    "on_site",
                    "location",
                    "meeting_code",
                    "status",
                    "hours_proposed",
                    "hours_accepted",
                ],
                records=[
                    (
                        r.id,
                        r.secretariat,
                        r.kind,
                        f"{', '.join(r.skills)} for {r.meeting or 'the secretariat'}",
                        r.skills,
                        r.start,
                        r.end,
                        r.hours,
                        r.priority,
                        r.on_site,
                        r.location,
                        r.meeting,
                        _request_status(r, today),
                        r.proposed,
                        r.accepted,
                    )
                    for r in data.requests
                ],
            )
            await conn.copy_records_to_table(
                "capacity_offer",
                columns=[
                    "id",
                    "secretariat_code",
                    "kind",
                    "title",
                    "skills",
                    "start_date",
                    "end_date",
                    "hours_per_day",
                    "total_hours",
                    "location",
                    "travel_ok",
                    "status",
                    "hours_proposed",
                    "hours_accepted",
                ],
                records=[
                    (
                        o.id,
                        o.secretariat,
                        o.kind,
                        f"{o.secretariat} {o.kind} team: {', '.join(o.skills)}",
                        o.skills,
                        o.start,
                        o.end,
                        o.per_day,
                        o.total,
                        o.location,
                        o.travel_ok,
                        "withdrawn" if o.withdrawn else "active",
                        o.proposed,
                        o.accepted,
                    )
                    for o in data.offers
                ],
            )
            await conn.copy_records_to_table(
                "allocation",
                columns=[
                    "id",
                    "request_id",
                    "offer_id",
                    "hours",
                    "travel",
                    "status",
                    "decided_at",
                    "decided_by",
                    "reason",
                ],
                records=[
                    (
                        a.id,
                        a.request.id,
                        a.offer.id,
                        sum(h for _, h in a.days),
                        a.travel,
                        a.status,
                        None if a.status == "proposed" else now,
                        None if a.status == "proposed" else "bench",
                        "bench" if a.status in ("declined", "cancelled") else None,
                    )
                    for a in data.allocations
                ],
            )
            await conn.copy_records_to_table(
                "allocation_day",
                columns=["allocation_id", "day", "hours"],
                records=[(a.id, d, h) for a in data.allocations for d, h in a.days],
            )
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
