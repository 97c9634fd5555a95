"""Illustrative history for the demo: past meetings of both Standing Committees and of the
CMS Conference of the Parties, with the support requests linked to them, and each
secretariat's year-end closure. Not the record: the figures are made up (seeded) so that the
forecast and the expected shortfall have something to show. Every request says so."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

ILLUSTRATIVE = "Illustrative demo data: not the secretariats' record."
HISTORY_SOURCE = "tandem-demo-history"


@dataclass(frozen=True)
class _Body:
    secretariat: str
    body: str
    prefix: str
    location: str
    days: int
    every_years: int
    last_number: int
    """the number of the upcoming (or latest) session"""
    sessions: int
    month: int
    hours_per_day: float
    skills: tuple[tuple[str, str, float], ...]
    """(kind, skill, share)"""


def _bodies(today: date) -> list[_Body]:
    shift = today.year - 2026
    return [
        _Body(
            "CITES",
            "Standing Committee",
            "CITES SC",
            "CH GVA",
            5,
            1,
            80 + shift,
            5,
            11,
            34.0,
            (
                ("ict", "av-streaming", 0.3),
                ("staff", "registration", 0.25),
                ("ict", "documents", 0.2),
                ("staff", "interpretation", 0.25),
            ),
        ),
        _Body(
            "CMS",
            "Standing Committee",
            "CMS StC",
            "DE BON",
            3,
            1,
            56 + shift,
            5,
            10,
            22.0,
            (
                ("ict", "av-streaming", 0.35),
                ("staff", "registration", 0.3),
                ("ict", "it-support", 0.35),
            ),
        ),
        _Body(
            "CMS",
            "Conference of the Parties",
            "CMS CoP",
            "DE BON",
            6,
            3,
            15 + shift // 3,
            3,
            2,
            60.0,
            (
                ("ict", "av-streaming", 0.25),
                ("staff", "registration", 0.2),
                ("ict", "documents", 0.2),
                ("staff", "interpretation", 0.2),
                ("ict", "it-support", 0.15),
            ),
        ),
    ]


def history(today: date) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Past meetings and the requests linked to them (requests as column values)."""
    rng = random.Random(2026)
    meetings: list[dict[str, Any]] = []
    requests: list[dict[str, Any]] = []
    for b in _bodies(today):
        for k in range(b.sessions, 0, -1):
            year = today.year - k * b.every_years
            opening = date(year, b.month, 1)
            opening += timedelta(days=(7 - opening.weekday()) % 7 + 7)  # second Monday
            if opening >= today:
                continue
            code = f"{b.prefix}{b.last_number - k}"
            days = b.days + rng.choice((-1, 0, 0, 1))
            meetings.append(
                {
                    "code": code,
                    "title": f"{b.body} ({b.secretariat}), session {b.last_number - k}",
                    "secretariat": b.secretariat,
                    "body": b.body,
                    "location": b.location,
                    "start_date": opening,
                    "end_date": opening + timedelta(days=days - 1),
                }
            )
            # Support grows by about 6 % a year, with noise from one session to the next.
            total = (
                b.hours_per_day * days * (1.06 ** -(k * b.every_years)) * rng.uniform(0.85, 1.15)
            )
            for kind, skill, share in b.skills:
                hours = total * share * rng.uniform(0.8, 1.2)
                for part, first, last in ((0.5, -35, -3), (0.5, 0, days - 1)):
                    requests.append(
                        {
                            "meeting_code": code,
                            "secretariat_code": b.secretariat,
                            "kind": kind,
                            "title": f"{skill.replace('-', ' ').capitalize()} for {code}",
                            "description": ILLUSTRATIVE,
                            "skills": [skill],
                            "start_date": opening + timedelta(days=first),
                            "end_date": opening + timedelta(days=last),
                            "hours": max(1, round(hours * part)),
                            "priority": "normal",
                            "on_site": kind == "staff",
                            "location": b.location if kind == "staff" else None,
                            "status": "expired",
                            "external_id": f"{code}-{skill}-{'before' if first < 0 else 'during'}",
                        }
                    )
    return meetings, requests


def year_end_closures(today: date) -> list[tuple[str, date, str]]:
    """Both secretariats close between Christmas and New Year (this year and next)."""
    out: list[tuple[str, date, str]] = []
    for year in (today.year, today.year + 1):
        for day in range(24, 32):
            d = date(year, 12, day)
            if d.weekday() < 5:
                out.extend((code, d, "Year-end closure") for code in ("CITES", "CMS"))
    return out
