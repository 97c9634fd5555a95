"""Seeded, realistic matching instances at four scales.

Secretariats ask each other for ICT and staff support, mostly around their meetings:
preparation in the weeks before, on-site support during, follow-up after, and some
ad-hoc work in between. Offers are people's time over weeks or months, a few hours a
day, at their duty station, some willing to travel. Demand is above supply so that
priorities matter; part of the capacity and demand is already taken by accepted
allocations, and a few pairs were declined before.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

from shared.matching.engine import Allocation, OfferIn, Problem, RequestIn

SECRETARIATS = [
    ("CITES", "CH GVA"),
    ("CMS", "DE BON"),
    ("CBD", "CA MTL"),
    ("RAMSAR", "CH GLA"),
    ("UNCCD", "DE BON"),
    ("UNFCCC", "DE BON"),
    ("BRS", "CH GVA"),
    ("MINAMATA", "CH GVA"),
    ("IPBES", "DE BON"),
    ("WHC", "FR PAR"),
    ("AEWA", "DE BON"),
    ("EUROBATS", "DE BON"),
    ("ASCOBANS", "DE BON"),
    ("ACCOBAMS", "MC MON"),
    ("ACAP", "AU HBA"),
    ("IWC", "GB CBG"),
    ("ITPGRFA", "IT ROM"),
    ("IPPC", "IT ROM"),
    ("OZONE", "KE NBO"),
    ("UNEP-MAP", "GR ATH"),
    ("ABIDJAN", "CI ABJ"),
    ("NAIROBI-CONV", "KE NBO"),
    ("CARTAGENA", "JM KIN"),
    ("TEHRAN", "CH GVA"),
    ("SPREP", "WS APW"),
    ("OSPAR", "GB LON"),
    ("HELCOM", "FI HEL"),
    ("CCAMLR", "AU HBA"),
    ("CARPATHIAN", "AT VIE"),
    ("WADDEN", "DE WHV"),
]
MEETING_PLACES = ["CH GVA", "DE BON", "KE NBO", "PA PTY", "TH BKK", "UZ SKD", "QA DOH", "CO CTG"]

ICT_SKILLS = [
    "registration",
    "documents",
    "av-streaming",
    "network",
    "web",
    "database",
    "helpdesk",
    "hybrid-meetings",
    "e-voting",
    "cybersecurity",
    "sharepoint",
    "gis",
    "data-analysis",
    "cloud",
]
STAFF_SKILLS = [
    "editing",
    "logistics",
    "procurement",
    "translation-fr",
    "translation-es",
    "interpretation-fr",
    "interpretation-es",
    "minute-taking",
    "conference-services",
    "travel",
    "finance",
    "communications",
    "legal",
    "report-writing",
]
PRIORITIES = [("low", 1, 0.2), ("normal", 2, 0.45), ("high", 4, 0.25), ("critical", 8, 0.1)]
START = date(2026, 1, 5)  # a Monday


@dataclass(frozen=True, slots=True)
class Scale:
    name: str
    secretariats: int
    offers: int
    requests: int
    horizon_days: int
    request_skills: tuple[int, ...]  # how many skills a request asks for (drawn uniformly)
    offer_skills: tuple[int, int]  # how many skills an offer has (inclusive range)
    demand_over_supply: float = 1.6


SCALES = {
    "small": Scale("small", 2, 40, 120, 120, (1, 1, 2, 2, 3), (3, 6)),
    "realistic": Scale("realistic", 2, 150, 500, 365, (1, 1, 2, 2, 3), (3, 6)),
    "multi": Scale("multi", 8, 1_000, 4_000, 365, (1, 1, 2, 2), (3, 7)),
    "large": Scale("large", 30, 5_000, 20_000, 365, (1, 1, 1, 2), (4, 8)),
}


def _skills(rng: random.Random, pool: list[str], k: int) -> frozenset[str]:
    # Popular skills first: weights fall off along the list.
    weights = [1.0 / (1 + i / 3) for i in range(len(pool))]
    out: set[str] = set()
    while len(out) < min(k, len(pool)):
        out.add(rng.choices(pool, weights)[0])
    return frozenset(out)


def _working_days(a: date, b: date) -> list[date]:
    return [a + timedelta(i) for i in range((b - a).days + 1) if (a + timedelta(i)).weekday() < 5]


def generate(scale: Scale | str, seed: int = 1) -> Problem:
    """A problem at the given scale; the same (scale, seed) gives the same problem."""
    sc = SCALES[scale] if isinstance(scale, str) else scale
    rng = random.Random(f"{sc.name}:{seed}")
    end = START + timedelta(sc.horizon_days - 1)
    secs = SECRETARIATS[: sc.secretariats]

    # Each secretariat holds a few meetings a year (at least two in the horizon).
    meetings: dict[str, list[tuple[date, date, str]]] = {}
    for code, station in secs:
        count = max(2, round(sc.horizon_days / 365 * rng.randint(3, 6)))
        ms = []
        for _ in range(count):
            start = START + timedelta(rng.randrange(14, max(15, sc.horizon_days - 14)))
            length = rng.randint(3, 12)
            place = station if rng.random() < 0.5 else rng.choice(MEETING_PLACES)
            ms.append((start, min(end, start + timedelta(length - 1)), place))
        meetings[code] = ms

    requests: list[RequestIn] = []
    for i in range(sc.requests):
        code, station = rng.choice(secs)
        kind = "ict" if rng.random() < 0.55 else "staff"
        pool = ICT_SKILLS if kind == "ict" else STAFF_SKILLS
        skills = _skills(rng, pool, rng.choice(sc.request_skills))
        on_site, location = False, None
        phase = rng.random()
        if phase < 0.75:
            m_start, m_end, place = rng.choice(meetings[code])
            if phase < 0.35:  # preparation
                s = m_start - timedelta(rng.randint(10, 45))
                e = m_start - timedelta(1)
                hours = rng.randint(8, 80)
            elif phase < 0.6:  # during the meeting, often on site
                s, e = m_start, m_end
                hours = rng.randint(8, 100)
                if rng.random() < 0.6:
                    on_site, location = True, place
            else:  # follow-up
                s = m_end + timedelta(1)
                e = m_end + timedelta(rng.randint(5, 25))
                hours = rng.randint(4, 40)
        else:  # ad hoc
            s = START + timedelta(rng.randrange(sc.horizon_days))
            e = s + timedelta(rng.randint(3, 30))
            hours = rng.randint(4, 40)
            if rng.random() < 0.1:
                on_site, location = True, station
        s, e = max(s, START), min(e, end)
        if e < s:
            s, e = e, e
        _, weight, _ = rng.choices(PRIORITIES, [w for *_, w in PRIORITIES])[0]
        accepted = rng.randint(1, hours) if rng.random() < 0.15 else 0
        requests.append(
            RequestIn(
                id=f"req-{i:06d}",
                secretariat=code,
                kind=kind,
                skills=skills,
                start=s,
                end=e,
                remaining=hours - accepted,
                weight=weight,
                on_site=on_site,
                location=location,
            )
        )
    demand = sum(r.remaining for r in requests)

    # Offers: windows of one to six months (a fifth cover the whole horizon).
    raw = []
    for _ in range(sc.offers):
        code, station = rng.choice(secs)
        kind = "ict" if rng.random() < 0.55 else "staff"
        pool = ICT_SKILLS if kind == "ict" else STAFF_SKILLS
        skills = _skills(rng, pool, rng.randint(*sc.offer_skills))
        if rng.random() < 0.2:
            s, e = START, end
        else:
            s = START + timedelta(rng.randrange(sc.horizon_days))
            e = min(end, s + timedelta(rng.randint(30, 180)))
        hpd = rng.choice([2, 3, 4, 4, 6, 8])
        raw.append((code, station, kind, skills, s, e, hpd, len(_working_days(s, e))))
    full = sum(hpd * wd for *_, hpd, wd in raw)
    share = min(1.0, demand / sc.demand_over_supply / max(full, 1))

    offers: list[OfferIn] = []
    for i, (code, station, kind, skills, s, e, hpd, wd) in enumerate(raw):
        total = max(hpd, round(hpd * wd * share * rng.uniform(0.5, 1.5)))
        used: dict[date, int] = {}
        if rng.random() < 0.15 and wd:
            for day in rng.sample(_working_days(s, e), min(wd, rng.randint(1, 10))):
                used[day] = rng.randint(1, hpd)
        offers.append(
            OfferIn(
                id=f"off-{i:06d}",
                secretariat=code,
                kind=kind,
                skills=skills,
                start=s,
                end=e,
                hours_per_day=hpd,
                total_left=max(0, total - sum(used.values())),
                used_by_day=used,
                location=station,
                travel_ok=rng.random() < 0.35,
            )
        )

    # Declined pairs: a few requests each turned down by one to three offers of their kind.
    by_kind: dict[str, list[OfferIn]] = {}
    for o in offers:
        by_kind.setdefault(o.kind, []).append(o)
    banned = set()
    for r in rng.sample(requests, len(requests) // 30):
        for o in rng.sample(by_kind[r.kind], min(len(by_kind[r.kind]), rng.randint(1, 3))):
            banned.add((r.id, o.id))
    return Problem(requests=requests, offers=offers, banned=frozenset(banned))


def previous_of(allocations: list[Allocation]) -> dict[tuple[str, str], dict[date, int]]:
    """The ``previous`` mapping a next run would get from these proposals."""
    return {(str(a.request_id), str(a.offer_id)): dict(a.days) for a in allocations}


def perturbed(problem: Problem, seed: int = 1, share: float = 0.02) -> Problem:
    """The same problem a little later: a few offers withdrawn, a few requests changed."""
    rng = random.Random(seed)
    offers = [o for o in problem.offers if rng.random() >= share]
    requests = [
        RequestIn(
            id=r.id,
            secretariat=r.secretariat,
            kind=r.kind,
            skills=r.skills,
            start=r.start,
            end=r.end,
            remaining=max(0, r.remaining + rng.randint(-8, 8)),
            weight=r.weight,
            on_site=r.on_site,
            location=r.location,
        )
        if rng.random() < share
        else r
        for r in problem.requests
    ]
    return Problem(requests, offers, problem.banned, problem.previous, problem.working_days)
