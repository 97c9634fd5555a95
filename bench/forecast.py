"""`make bench-forecast`: a rolling-origin backtest of the meeting forecast against two baselines.

Generates seeded histories (``--seeds``, default 1 to 5) of several governing bodies over
``--years`` years: each body meets at its own rhythm with its own size and meeting lengths
(which vary from one session to the next), its support grows or shrinks by a trend of its own,
every meeting is noisy (log-normal), part of each meeting's support does not depend on its
length, and skills come into use and fall out of it over the years. Then, for each meeting of
the last ``--test-years`` years, it forecasts the meeting from the meetings before it only
and compares with what the meeting really got.

Errors are WAPE (sum of absolute errors / sum of actual hours) of the total hours per
meeting and of the hours per meeting and skill, for the forecast and for two baselines:
"last" (the same as the body's last meeting) and "mean" (the mean of all past meetings of the
body). Exits 1 when, pooled over the seeds, the forecast does not beat both baselines by
20 % on total hours.
"""

from __future__ import annotations

import argparse
import math
import random
import sys
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

from shared.forecast.model import Meeting, PastRequest, actual_by_skill, forecast, history_for

SKILLS = [
    ("interpretation", 0, 99),
    ("av-streaming", 3, 99),
    ("documents", 0, 99),
    ("translation-fr", 0, 99),
    ("translation-es", 0, 99),
    ("registration", 0, 6),
    ("online-registration", 5, 99),
    ("hybrid-meetings", 6, 99),
    ("printing", 0, 4),
    ("webcast", 2, 8),
    ("it-support", 0, 99),
    ("logistics", 0, 99),
]


@dataclass(frozen=True)
class Body:
    name: str
    secretariat: str
    every_days: int
    length: tuple[int, int]
    base: float
    """hours per meeting day in the first year"""
    fixed_days: float
    """support that does not depend on the meeting's length, in meeting days"""
    trend: float
    """yearly growth of log hours"""


def _bodies(rng: random.Random) -> list[Body]:
    specs = [
        ("CITES CoP", "CITES", 1000, (9, 14), 70.0),
        ("CITES SC", "CITES", 365, (3, 6), 30.0),
        ("CITES AC", "CITES", 420, (3, 5), 14.0),
        ("CITES PC", "CITES", 420, (3, 5), 12.0),
        ("CMS CoP", "CMS", 1100, (5, 9), 45.0),
        ("CMS StC", "CMS", 365, (2, 4), 10.0),
        ("CMS ScC", "CMS", 540, (3, 5), 8.0),
    ]
    return [
        Body(
            name,
            sec,
            every,
            length,
            base * rng.uniform(0.8, 1.25),
            fixed_days=rng.uniform(1.0, 3.0),
            trend=rng.uniform(-0.05, 0.12),
        )
        for name, sec, every, length, base in specs
    ]


def generate(seed: int, years: int, start: date) -> list[Meeting]:
    """A seeded history of meetings with their linked support requests."""
    rng = random.Random(seed)
    out: list[Meeting] = []
    for body in _bodies(rng):
        # Each body leans on its own few skills, with weights that drift over the years.
        favour = {s: rng.lognormvariate(0, 0.8) for s, _a, _b in SKILLS}
        day = start + timedelta(days=rng.randrange(0, 200))
        n = 0
        while day < start + timedelta(days=365 * years):
            n += 1
            year = (day - start).days / 365.25
            length = rng.randint(*body.length)
            hours = (
                body.base
                * (length + body.fixed_days)
                * math.exp(body.trend * year)
                * rng.lognormvariate(0, 0.18)
            )
            live = [
                (s, favour[s] * rng.lognormvariate(0, 0.3))
                for s, first, last in SKILLS
                if first <= year <= last
            ]
            weights = sum(w for _s, w in live)
            requests = []
            for skill, w in live:
                skill_hours = hours * w / weights
                # Preparation weeks before the opening, then the meeting days themselves.
                for part, (lo, hi) in ((0.55, (-84, -1)), (0.45, (0, length - 1))):
                    first = rng.randint(lo, hi)
                    last = min(hi, first + rng.randint(0, 20))
                    kind = "staff" if skill in {"interpretation", "logistics"} else "ict"
                    requests.append(
                        PastRequest(
                            kind,
                            (skill,),
                            round(skill_hours * part, 1),
                            day + timedelta(days=first),
                            day + timedelta(days=last),
                        )
                    )
            code = f"{body.name}{n}"
            out.append(
                Meeting(
                    code,
                    body.name,
                    body.secretariat,
                    day,
                    day + timedelta(days=length - 1),
                    tuple(requests),
                )
            )
            day += timedelta(days=body.every_days + rng.randint(-60, 60))
    return sorted(out, key=lambda m: (m.start, m.code))


def backtest(meetings: list[Meeting], test_from: date) -> dict[str, list[float]]:
    """Absolute errors of total and per-skill hours per meeting forecast, by method, with
    the actual hours they are weighed by (keys: `<method>.total`, `<method>.skill`,
    `actual.total`, `actual.skill`)."""
    out: dict[str, list[float]] = defaultdict(list)
    for target in meetings:
        if target.start < test_from:
            continue
        blank = Meeting(target.code, target.body, target.secretariat, target.start, target.end)
        same, same_body = history_for(blank, meetings)
        fc = forecast(blank, meetings)
        if not same_body or fc is None:
            continue
        real = actual_by_skill(target)
        out["actual.total"].append(target.hours)
        out["actual.skill"].extend(real.values())
        mean_skill: dict[str, float] = defaultdict(float)
        for m in same:
            for s, h in actual_by_skill(m).items():
                mean_skill[s] += h / len(same)
        fc_skill: dict[str, float] = defaultdict(float)
        for (_kind, skill), amount in fc.by_kind_skill.items():
            fc_skill[skill] += amount.expected
        predictions = {
            "forecast": (fc.total.expected, fc_skill),
            "last": (same[-1].hours, actual_by_skill(same[-1])),
            "mean": (sum(m.hours for m in same) / len(same), mean_skill),
        }
        for method, (total, by_skill) in predictions.items():
            out[f"{method}.total"].append(abs(total - target.hours))
            skills = set(real) | set(by_skill)
            out[f"{method}.skill"].append(
                sum(abs(by_skill.get(s, 0.0) - real.get(s, 0.0)) for s in skills)
            )
        out[f"body.{target.body}"].append(abs(fc.total.expected - target.hours) / target.hours)
        inside = fc.total.low <= target.hours <= fc.total.high
        out["covered"].append(1.0 if inside else 0.0)
    return out


def _wape(errors: dict[str, list[float]], method: str, what: str) -> float:
    return 100.0 * sum(errors[f"{method}.{what}"]) / sum(errors[f"actual.{what}"])


def _row(label: str, errors: dict[str, list[float]]) -> tuple[str, dict[str, float]]:
    totals = {m: _wape(errors, m, "total") for m in ("forecast", "last", "mean")}
    skills = {m: _wape(errors, m, "skill") for m in ("forecast", "last", "mean")}
    gains = {b: 100.0 * (1 - totals["forecast"] / totals[b]) for b in ("last", "mean")}
    line = (
        f"{label:<8}{len(errors['actual.total']):>9}"
        + "".join(f"{totals[m]:>9.1f}" for m in ("forecast", "last", "mean"))
        + "".join(f"{skills[m]:>9.1f}" for m in ("forecast", "last", "mean"))
        + f"{gains['last']:>9.0f}{gains['mean']:>9.0f}"
        + f"{100.0 * sum(errors['covered']) / len(errors['covered']):>9.0f}"
    )
    return line, gains


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="1,2,3,4,5", help="histories to generate")
    parser.add_argument("--years", type=int, default=20)
    parser.add_argument("--test-years", type=int, default=8)
    args = parser.parse_args()
    start = date(2006, 1, 1)
    test_from = start + timedelta(days=365 * (args.years - args.test_years))
    print(
        f"7 bodies over {args.years} years from {start}; every meeting from {test_from} on is "
        "forecast from the meetings before it (rolling origin). WAPE %, and how much lower the "
        "forecast's WAPE of total hours is than each baseline's (%); in80: actual inside "
        "the forecast's 20-80 % range (%)."
    )
    print(
        f"{'seed':<8}{'meetings':>9}"
        + "".join(f"{'tot:' + m:>9}" for m in ("fc", "last", "mean"))
        + "".join(f"{'skl:' + m:>9}" for m in ("fc", "last", "mean"))
        + f"{'vs last':>9}{'vs mean':>9}{'in80':>9}"
    )
    pooled: dict[str, list[float]] = defaultdict(list)
    for seed in (int(s) for s in args.seeds.split(",")):
        errors = backtest(generate(seed, args.years, start), test_from)
        for key, values in errors.items():
            pooled[key].extend(values)
        print(_row(str(seed), errors)[0])
    line, gains = _row("all", pooled)
    print(line)
    bodies = sorted(k for k in pooled if k.startswith("body."))
    print(
        "forecast's mean absolute error of total hours per body (%): "
        + ", ".join(f"{b[5:]} {100.0 * sum(pooled[b]) / len(pooled[b]):.0f}" for b in bodies)
    )
    ok = all(g >= 20.0 for g in gains.values())
    print("target (all seeds: >= 20 % lower than both baselines): " + ("met" if ok else "MISSED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
