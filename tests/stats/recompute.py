"""The stats figures recomputed in plain Python from the raw rows, written from the rules in
the docstrings of shared/stats/service.py, not from its SQL."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from fractions import Fraction
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

OPEN = ("open", "partially_matched", "matched")
WORKING_DAYS = (1, 2, 3, 4, 5)


@dataclass
class Rows:
    requests: list[Any]
    offers: list[Any]
    allocations: list[Any]
    days: dict[Any, list[tuple[date, int]]]  # allocation id -> [(day, hours)]
    activities: list[Any]


async def fetch(factory: async_sessionmaker[AsyncSession]) -> Rows:
    """Every row the figures come from, as they are in the database."""
    async with factory() as session:

        async def rows(sql: str) -> list[Any]:
            return list((await session.execute(text(sql))).all())

        days: dict[Any, list[tuple[date, int]]] = defaultdict(list)
        for d in await rows("SELECT allocation_id, day, hours FROM allocation_day"):
            days[d.allocation_id].append((d.day, d.hours))
        return Rows(
            await rows("SELECT * FROM workload_request"),
            await rows("SELECT * FROM capacity_offer"),
            await rows("SELECT * FROM allocation"),
            days,
            await rows("SELECT * FROM activity"),
        )


@dataclass(frozen=True)
class Filters:
    start: date | None = None
    end: date | None = None
    secretariat: str | None = None
    kind: str | None = None

    @classmethod
    def of(cls, params: dict[str, str]) -> Filters:
        return cls(
            date.fromisoformat(params["from"]) if "from" in params else None,
            date.fromisoformat(params["to"]) if "to" in params else None,
            params.get("secretariat"),
            params.get("kind"),
        )

    def in_range(self, day: date) -> bool:
        return (self.start is None or day >= self.start) and (self.end is None or day <= self.end)

    def overlaps(self, row: Any) -> bool:
        return (self.start is None or row.end_date >= self.start) and (
            self.end is None or row.start_date <= self.end
        )

    def own(self, row: Any) -> bool:
        return (self.secretariat is None or row.secretariat_code == self.secretariat) and (
            self.kind is None or row.kind == self.kind
        )


def _window(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _by_id(rows: list[Any]) -> dict[Any, Any]:
    return {r.id: r for r in rows}


def workload(rows: Rows, f: Filters) -> dict[str, Any]:
    zero = {"requested": Fraction(0), "unmet": Fraction(0), "proposed": 0, "accepted": 0}
    weeks: dict[tuple[date, str, str], dict[str, Any]] = defaultdict(
        lambda: {**zero, "open": set()}
    )
    open_ids = set()
    for r in rows.requests:
        if r.status == "cancelled" or not f.own(r):
            continue
        window = _window(r.start_date, r.end_date)
        used = [d for d in window if d.isoweekday() in WORKING_DAYS] or window
        for d in used:
            if not f.in_range(d):
                continue
            week = weeks[(_monday(d), r.secretariat_code, r.kind)]
            week["requested"] += Fraction(r.hours, len(used))
            week["unmet"] += Fraction(r.hours - r.hours_accepted, len(used))
            if r.status in OPEN:
                week["open"].add(r.id)
                open_ids.add(r.id)
    requests = _by_id(rows.requests)
    for a in rows.allocations:
        r = requests[a.request_id]
        if a.status not in ("proposed", "accepted") or not f.own(r):
            continue
        for d, hours in rows.days[a.id]:
            if f.in_range(d):
                weeks[(_monday(d), r.secretariat_code, r.kind)][a.status] += hours
    out = [
        {
            "week_start": week_start.isoformat(),
            "week": f"{week_start.isocalendar()[0]}-W{week_start.isocalendar()[1]:02d}",
            "secretariat": secretariat,
            "kind": kind,
            "hours_requested": float(v["requested"]),
            "hours_proposed": v["proposed"],
            "hours_accepted": v["accepted"],
            "open_requests": len(v["open"]),
            "unmet_hours": float(v["unmet"]),
        }
        for (week_start, secretariat, kind), v in sorted(weeks.items())
    ]
    totals = {
        "hours_requested": sum(w["hours_requested"] for w in out),
        "hours_proposed": sum(w["hours_proposed"] for w in out),
        "hours_accepted": sum(w["hours_accepted"] for w in out),
        "open_requests": len(open_ids),
        "unmet_hours": sum(w["unmet_hours"] for w in out),
    }
    return {"weeks": out, "totals": totals}


def _utilisation(accepted: int, offered: int) -> float | None:
    return round(accepted / offered, 4) if offered else None


def capacity(rows: Rows, f: Filters) -> dict[str, Any]:
    used: dict[Any, dict[str, int]] = defaultdict(lambda: {"proposed": 0, "accepted": 0})
    for a in rows.allocations:
        if a.status in ("proposed", "accepted"):
            used[a.offer_id][a.status] += sum(h for d, h in rows.days[a.id] if f.in_range(d))
    offers = []
    for o in rows.offers:
        if not (f.own(o) and f.overlaps(o)):
            continue
        working = [
            d
            for d in _window(o.start_date, o.end_date)
            if f.in_range(d) and d.isoweekday() in WORKING_DAYS
        ]
        accepted = used[o.id]["accepted"]
        offered = (
            accepted
            if o.status == "withdrawn"
            else min(o.total_hours, o.hours_per_day * len(working))
        )
        offers.append(
            {
                "id": str(o.id),
                "title": o.title,
                "secretariat": o.secretariat_code,
                "kind": o.kind,
                "status": o.status,
                "start_date": o.start_date.isoformat(),
                "end_date": o.end_date.isoformat(),
                "hours_per_day": o.hours_per_day,
                "total_hours": o.total_hours,
                "location": o.location,
                "travel_ok": o.travel_ok,
                "hours_offered": offered,
                "hours_proposed": used[o.id]["proposed"],
                "hours_accepted": accepted,
                "utilisation": _utilisation(accepted, offered),
            }
        )
    offers.sort(key=lambda o: (o["secretariat"], o["start_date"], o["title"], o["id"]))

    def summed(group: list[dict[str, Any]]) -> dict[str, Any]:
        offered = sum(o["hours_offered"] for o in group)
        accepted = sum(o["hours_accepted"] for o in group)
        return {
            "offers": len(group),
            "active_offers": sum(o["status"] == "active" for o in group),
            "hours_offered": offered,
            "hours_proposed": sum(o["hours_proposed"] for o in group),
            "hours_accepted": accepted,
            "utilisation": _utilisation(accepted, offered),
        }

    secretariats = sorted({o["secretariat"] for o in offers})
    return {
        "offers": offers,
        "by_secretariat": [
            {"secretariat": s, **summed([o for o in offers if o["secretariat"] == s])}
            for s in secretariats
        ],
        "totals": summed(offers),
    }


def unmet_skills(rows: Rows, f: Filters, limit: int, per_skill: int) -> list[dict[str, Any]]:
    behind: dict[str, list[Any]] = defaultdict(list)
    for r in rows.requests:
        if r.status != "cancelled" and r.hours > r.hours_accepted and f.own(r) and f.overlaps(r):
            for skill in r.skills:
                behind[skill].append(r)
    skills = [
        {
            "skill": skill,
            "unmet_hours": sum(r.hours - r.hours_accepted for r in rs),
            "unproposed_hours": sum(
                max(r.hours - r.hours_accepted - r.hours_proposed, 0) for r in rs
            ),
            "requests": len(rs),
            "top_requests": [
                {
                    "id": str(r.id),
                    "title": r.title,
                    "secretariat": r.secretariat_code,
                    "kind": r.kind,
                    "status": r.status,
                    "priority": r.priority,
                    "start_date": r.start_date.isoformat(),
                    "end_date": r.end_date.isoformat(),
                    "meeting_code": r.meeting_code,
                    "hours": r.hours,
                    "hours_proposed": r.hours_proposed,
                    "hours_accepted": r.hours_accepted,
                    "unmet_hours": r.hours - r.hours_accepted,
                }
                for r in sorted(
                    rs, key=lambda r: (-(r.hours - r.hours_accepted), r.start_date, r.id)
                )
            ][:per_skill],
        }
        for skill, rs in behind.items()
    ]
    skills.sort(key=lambda s: (-s["unmet_hours"], s["skill"].encode()))
    return skills[:limit]


def _mode(request: Any, allocation: Any) -> str:
    if not request.on_site:
        return "remote"
    return "travel" if allocation.travel else "on_site"


def exchange(rows: Rows, f: Filters) -> dict[str, Any]:
    requests, offers = _by_id(rows.requests), _by_id(rows.offers)
    fields = ("hours_accepted", "hours_proposed", "remote_hours", "on_site_hours", "travel_hours")
    pairs: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: dict.fromkeys(fields, 0))
    for a in rows.allocations:
        r, o = requests[a.request_id], offers[a.offer_id]
        if a.status not in ("proposed", "accepted"):
            continue
        if f.kind and r.kind != f.kind:
            continue
        if f.secretariat and f.secretariat not in (r.secretariat_code, o.secretariat_code):
            continue
        hours = sum(h for d, h in rows.days[a.id] if f.in_range(d))
        if not any(f.in_range(d) for d, _ in rows.days[a.id]):
            continue
        pair = pairs[(o.secretariat_code, r.secretariat_code)]
        if a.status == "proposed":
            pair["hours_proposed"] += hours
        else:
            pair["hours_accepted"] += hours
            pair[f"{_mode(r, a)}_hours"] += hours
    secretariats = sorted({s for pair in pairs for s in pair})
    balance = []
    for s in secretariats:
        given = sum(v["hours_accepted"] for (g, _), v in pairs.items() if g == s)
        received = sum(v["hours_accepted"] for (_, t), v in pairs.items() if t == s)
        balance.append(
            {
                "secretariat": s,
                "hours_given": given,
                "hours_received": received,
                "balance": given - received,
                "hours_proposed_to_give": sum(
                    v["hours_proposed"] for (g, _), v in pairs.items() if g == s
                ),
                "hours_proposed_to_receive": sum(
                    v["hours_proposed"] for (_, t), v in pairs.items() if t == s
                ),
            }
        )
    totals = {k: sum(v[k] for v in pairs.values()) for k in fields}
    accepted = totals["hours_accepted"]
    totals["remote_share"] = round(totals["remote_hours"] / accepted, 4) if accepted else None
    return {
        "pairs": [{"giver": g, "receiver": t, **v} for (g, t), v in sorted(pairs.items())],
        "by_secretariat": balance,
        "totals": totals,
    }


def meeting(rows: Rows, code: str, f: Filters) -> dict[str, Any]:
    offers = _by_id(rows.offers)
    linked = sorted(
        (r for r in rows.requests if r.meeting_code == code and f.own(r) and f.overlaps(r)),
        key=lambda r: (r.start_date, r.title, r.id),
    )
    requests = []
    modes = {"remote": 0, "on_site": 0, "travel": 0}
    accepted_offers = set()
    for r in linked:
        helpers = []
        for a in rows.allocations:
            if a.request_id != r.id or a.status not in ("proposed", "accepted"):
                continue
            o = offers[a.offer_id]
            helpers.append(
                {
                    "allocation_id": str(a.id),
                    "offer_id": str(o.id),
                    "offer_title": o.title,
                    "secretariat": o.secretariat_code,
                    "status": a.status,
                    "hours": a.hours,
                    "travel": a.travel,
                    "mode": _mode(r, a),
                }
            )
            if a.status == "accepted":
                modes[_mode(r, a)] += a.hours
                accepted_offers.add(o.id)
        helpers.sort(
            key=lambda h: (h["status"], h["secretariat"], h["offer_title"], h["allocation_id"])
        )
        requests.append(
            {
                "id": str(r.id),
                "title": r.title,
                "secretariat": r.secretariat_code,
                "kind": r.kind,
                "status": r.status,
                "priority": r.priority,
                "start_date": r.start_date.isoformat(),
                "end_date": r.end_date.isoformat(),
                "hours": r.hours,
                "hours_proposed": r.hours_proposed,
                "hours_accepted": r.hours_accepted,
                "on_site": r.on_site,
                "location": r.location,
                "skills": r.skills,
                "helpers": helpers,
            }
        )
    by_status: dict[str, int] = defaultdict(int)
    for r in linked:
        by_status[r.status] += 1
    accepted = sum(r.hours_accepted for r in linked)
    totals = {
        "requests": len(linked),
        "by_status": dict(by_status),
        "hours_requested": sum(r.hours for r in linked if r.status != "cancelled"),
        "hours_proposed": sum(r.hours_proposed for r in linked),
        "hours_accepted": accepted,
        "remote_hours": modes["remote"],
        "on_site_hours": modes["on_site"],
        "travel_hours": modes["travel"],
        "accepted_offers": len(accepted_offers),
        "remote_share": round(modes["remote"] / accepted, 4) if accepted else None,
    }
    themes = [
        "species",
        "listings_nomenclature",
        "governing_bodies",
        "nbsap",
        "funding",
        "liaison",
        "administration",
        "other",
    ]
    reported = [
        a
        for a in rows.activities
        if code in a.meeting_codes
        and (
            f.secretariat is None
            or f.secretariat == a.lead_secretariat_code
            or f.secretariat in a.partner_secretariat_codes
        )
    ]
    by_theme = []
    for theme in themes:
        group = sorted((a for a in reported if a.theme == theme), key=lambda a: (a.title, a.id))
        if group:
            by_theme.append(
                {
                    "theme": theme,
                    "total": len(group),
                    "activities": [
                        {
                            "id": str(a.id),
                            "title": a.title,
                            "lead_secretariat": a.lead_secretariat_code,
                            "partner_secretariats": a.partner_secretariat_codes,
                            "status": a.status,
                            "species": a.species,
                        }
                        for a in group
                    ],
                }
            )
    return {
        "support": {"totals": totals, "requests": requests},
        "activities": {"total": len(reported), "by_theme": by_theme},
    }
