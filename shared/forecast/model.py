"""Forecast of a meeting's support needs from the body's past meetings: pure, no I/O.

**Method, in one paragraph.** Each past meeting of the same body (with fewer than
``MIN_SAME_BODY`` of them, every past meeting of the secretariat) gives its *intensity*: the
support hours of the requests linked to it divided by its length in days. A body's intensity
drifts over the years, so a trend is fitted on the logarithm of the intensities against time
(the median of the slopes between every two meetings, which one odd meeting cannot tilt,
bounded to ±``MAX_TREND`` a year) and each past intensity is carried forward to the new
meeting's date along it. The forecast intensity is the median of the last ``RECENT`` carried
intensities; the range is their 20th and 80th percentiles (widened to at least
±``MIN_SPREAD`` when they agree too closely to be believed). Total hours are that intensity
times the new meeting's length. The hours are split by kind, skill and week with the shares
of the recent meetings, the latest weighing most (half the weight every ``HALF_LIFE``
meetings back), so that a skill that stopped being asked for fades out and a new one comes
in: weeks before the opening keep their distance from it (12 weeks at most), the days of
the meeting itself are spread over the new meeting's own days.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Final

WEEKS_BEFORE: Final = 12
MIN_SAME_BODY: Final = 2
RECENT: Final = 5
HALF_LIFE: Final = 2.0
MAX_TREND: Final = 0.3
MIN_SPREAD: Final = 0.1
MIN_ELASTICITY: Final = 0.3
MIN_LENGTH_SPREAD: Final = 0.5
LOW_Q: Final = 0.2
HIGH_Q: Final = 0.8
NO_SKILL: Final = ""


@dataclass(frozen=True, slots=True)
class PastRequest:
    """A support request linked to a past meeting."""

    kind: str
    skills: tuple[str, ...]
    hours: float
    start: date
    end: date


@dataclass(frozen=True, slots=True)
class Meeting:
    """A meeting: past ones carry their linked requests, the one to forecast none."""

    code: str
    body: str
    secretariat: str
    start: date
    end: date
    requests: tuple[PastRequest, ...] = ()

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def hours(self) -> float:
        return sum(r.hours for r in self.requests)


@dataclass(frozen=True, slots=True)
class Amount:
    """Expected hours and their range."""

    expected: float
    low: float
    high: float

    def scaled(self, share: float) -> Amount:
        return Amount(self.expected * share, self.low * share, self.high * share)


@dataclass(frozen=True, slots=True)
class Cell:
    """Expected hours of one kind and skill in one week (relative to the opening day)."""

    kind: str
    skill: str
    week: int
    """-12 .. -1 before the opening, 0 .. the meeting's last week."""
    week_start: date
    hours: Amount


@dataclass(slots=True)
class Forecast:
    """What a meeting is expected to need, and what the expectation rests on."""

    meeting: Meeting
    based_on: list[str]
    """Codes of the past meetings used, oldest first."""
    same_body: bool
    """False when the body had too little history and the secretariat's meetings stood in."""
    intensity_per_day: Amount
    """Per day of meeting, when hours grow in proportion to length (elasticity 1)."""
    length_elasticity: float
    total: Amount
    trend_per_year: float
    by_kind_skill: dict[tuple[str, str], Amount] = field(default_factory=dict)
    cells: list[Cell] = field(default_factory=list)


def history_for(target: Meeting, past: Sequence[Meeting]) -> tuple[list[Meeting], bool]:
    """The meetings a forecast of `target` learns from (before it, oldest first)."""
    before = sorted(
        (m for m in past if m.start < target.start and m.code != target.code),
        key=lambda m: (m.start, m.code),
    )
    same = [m for m in before if m.body == target.body and m.secretariat == target.secretariat]
    if len(same) >= MIN_SAME_BODY:
        return same, True
    others = [m for m in before if m.secretariat == target.secretariat]
    return others, False


def _years(a: date, b: date) -> float:
    return (b - a).days / 365.25


def _elasticity(meetings: Sequence[Meeting]) -> float:
    """How hours grow with a meeting's length: the slope of log hours on log days within
    each body (pooled over the bodies), bounded to MIN_ELASTICITY..1; 1 without evidence."""
    groups: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for m in meetings:
        if m.hours > 0:
            groups[m.body].append((math.log(m.days), math.log(m.hours)))
    sxy = sxx = 0.0
    for points in groups.values():
        if len(points) < 2:
            continue
        mx = sum(x for x, _ in points) / len(points)
        my = sum(y for _, y in points) / len(points)
        sxy += sum((x - mx) * (y - my) for x, y in points)
        sxx += sum((x - mx) ** 2 for x, _ in points)
    if sxx < MIN_LENGTH_SPREAD:
        return 1.0
    return max(MIN_ELASTICITY, min(1.0, sxy / sxx))


def _trend(meetings: Sequence[Meeting], beta: float) -> float:
    """Median slope of log intensity per year between every two meetings, bounded."""
    points = [(m.start, math.log(m.hours / m.days**beta)) for m in meetings if m.hours > 0]
    slopes = [
        (yb - ya) / _years(da, db)
        for i, (da, ya) in enumerate(points)
        for db, yb in points[i + 1 :]
        if _years(da, db) > 0.25
    ]
    if len(slopes) < 3:
        return 0.0
    return max(-MAX_TREND, min(MAX_TREND, statistics.median(slopes)))


def _quantile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    pos = q * (len(ordered) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def _slots(meeting: Meeting) -> dict[tuple[str, str, str, float], float]:
    """A meeting's hours by (kind, skill, slot, position): slot 'before' with the week
    (-12..-1) as position, or 'during' with the fraction of the meeting elapsed."""
    out: dict[tuple[str, str, str, float], float] = defaultdict(float)
    for r in meeting.requests:
        days = (r.end - r.start).days + 1
        skills = r.skills or (NO_SKILL,)
        per = r.hours / days / len(skills)
        for i in range(days):
            day = r.start + timedelta(days=i)
            offset = (day - meeting.start).days
            if offset < 0:
                key_slot, pos = "before", float(max(-WEEKS_BEFORE, math.floor(offset / 7)))
            else:
                key_slot = "during"
                pos = min(offset, meeting.days - 1) / meeting.days
            for skill in skills:
                out[(r.kind, skill, key_slot, pos)] += per
    return out


def forecast(target: Meeting, past: Sequence[Meeting]) -> Forecast | None:
    """The expected support hours of `target`, or None without any usable history."""
    used, same_body = history_for(target, past)
    used = [m for m in used if m.hours > 0]
    if not used:
        return None
    secretariat = [
        m for m in past if m.secretariat == target.secretariat and m.start < target.start
    ]
    beta = _elasticity(secretariat)
    trend = _trend(used, beta) if same_body else 0.0
    recent = used[-RECENT:]
    carried = [
        (m.hours / m.days**beta) * math.exp(trend * _years(m.start, target.start)) for m in recent
    ]
    mid = statistics.median(carried)
    low = min(_quantile(carried, LOW_Q), mid * (1 - MIN_SPREAD))
    high = max(_quantile(carried, HIGH_Q), mid * (1 + MIN_SPREAD))
    intensity = Amount(mid, low, high)
    total = intensity.scaled(target.days**beta)

    # Shares by (kind, skill, slot), the latest meetings weighing most.
    shares: dict[tuple[str, str, str, float], float] = defaultdict(float)
    weight_sum = 0.0
    for age, m in enumerate(reversed(recent)):
        w = 0.5 ** (age / HALF_LIFE)
        weight_sum += w
        hours = m.hours
        for key, h in _slots(m).items():
            shares[key] += w * h / hours
    cells: dict[tuple[str, str, int], float] = defaultdict(float)
    for (kind, skill, slot, pos), share in shares.items():
        share /= weight_sum
        if slot == "before":
            cells[(kind, skill, int(pos))] += share
            continue
        # Spread over the target's own days: the same fraction of the meeting elapsed.
        day = min(target.days - 1, math.floor(pos * target.days))
        cells[(kind, skill, day // 7)] += share
    by_kind_skill: dict[tuple[str, str], float] = defaultdict(float)
    for (kind, skill, _week), share in cells.items():
        by_kind_skill[(kind, skill)] += share
    return Forecast(
        meeting=target,
        based_on=[m.code for m in used],
        same_body=same_body,
        intensity_per_day=intensity.scaled(target.days**beta / target.days),
        length_elasticity=beta,
        total=total,
        trend_per_year=trend,
        by_kind_skill={k: total.scaled(s) for k, s in sorted(by_kind_skill.items())},
        cells=[
            Cell(kind, skill, week, target.start + timedelta(weeks=week), total.scaled(share))
            for (kind, skill, week), share in sorted(cells.items())
        ],
    )


def actual_by_skill(meeting: Meeting) -> dict[str, float]:
    """A past meeting's hours by skill (a request's hours split evenly among its skills)."""
    out: dict[str, float] = defaultdict(float)
    for r in meeting.requests:
        skills = r.skills or (NO_SKILL,)
        for s in skills:
            out[s] += r.hours / len(skills)
    return dict(out)


def daily(fc: Forecast) -> dict[tuple[str, str, date], Amount]:
    """A forecast's hours per (kind, skill, day): each week's hours spread evenly over its
    days (the meeting's last week ends with the meeting)."""
    out: dict[tuple[str, str, date], Amount] = {}
    for cell in fc.cells:
        last = cell.week_start + timedelta(days=6)
        if cell.week >= 0:
            last = min(last, fc.meeting.end)
        days = (last - cell.week_start).days + 1
        share = cell.hours.scaled(1 / days)
        for i in range(days):
            out[(cell.kind, cell.skill, cell.week_start + timedelta(days=i))] = share
    return out


def week_of(day: date) -> date:
    """The Monday of `day`'s week."""
    return day - timedelta(days=day.weekday())
