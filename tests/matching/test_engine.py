"""The matching engine against matching.md: each eligibility rule, each limit, and the
objective (served weight, then travel, then churn) against a linear program over one
variable per (request, offer, day) solved lexicographically with HiGHS."""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import replace
from datetime import date, timedelta

import highspy
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.matching import (
    DAYS_OFF,
    Allocation,
    OfferIn,
    Problem,
    RequestIn,
    Result,
    blocked_days,
    eligibility,
    eligible_pairs,
    explain,
    is_travel,
    solve,
    usable_days,
)

MON = date(2026, 3, 2)  # a Monday
SAT = MON + timedelta(5)


def request(id: str = "r1", **kw: object) -> RequestIn:
    fields: dict[str, object] = {
        "id": id,
        "secretariat": "CITES",
        "kind": "ict",
        "skills": frozenset({"web"}),
        "start": MON,
        "end": MON + timedelta(4),
        "remaining": 10,
        "weight": 2,
        "on_site": False,
        "location": None,
    }
    fields.update(kw)
    return RequestIn(**fields)  # type: ignore[arg-type]


def offer(id: str = "o1", **kw: object) -> OfferIn:
    fields: dict[str, object] = {
        "id": id,
        "secretariat": "CMS",
        "kind": "ict",
        "skills": frozenset({"web", "database"}),
        "start": MON,
        "end": MON + timedelta(4),
        "hours_per_day": 4,
        "total_left": 100,
        "used_by_day": {},
        "location": "DE BON",
        "travel_ok": False,
    }
    fields.update(kw)
    return OfferIn(**fields)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- the rules


def test_an_eligible_pair_has_no_reason() -> None:
    assert eligibility(request(), offer()) is None


@pytest.mark.parametrize(
    ("req", "off", "reason"),
    [
        (request(kind="staff"), offer(), "kind"),
        (request(skills=frozenset({"web", "gis"})), offer(), "skills"),
        (request(secretariat="CMS"), offer(), "same_secretariat"),
        (request(on_site=True, location="CH GVA"), offer(), "location"),
        (request(start=SAT, end=SAT + timedelta(1)), offer(), "no_common_working_day"),
        (request(start=MON, end=MON), offer(start=MON + timedelta(1)), "no_common_working_day"),
    ],
)
def test_each_rule_excludes_a_pair(req: RequestIn, off: OfferIn, reason: str) -> None:
    assert eligibility(req, off) == reason


def test_a_declined_pair_is_excluded() -> None:
    assert eligibility(request(), offer(), frozenset({("r1", "o1")})) == "declined"
    assert eligibility(request(), offer(), frozenset({("r1", "o2")})) is None


def test_the_first_failing_rule_is_reported() -> None:
    # Fails skills, secretariat and location at once: skills come first.
    req = request(secretariat="CMS", skills=frozenset({"gis"}), on_site=True, location="X")
    assert eligibility(req, offer()) == "skills"


def test_skill_tags_compare_trimmed_and_case_insensitively() -> None:
    req = request(skills=frozenset({" Web ", "DATABASE"}))
    assert eligibility(req, offer(skills=frozenset({"web", "database "}))) is None


def test_on_site_needs_the_same_place_or_travel() -> None:
    req = request(on_site=True, location="DE BON")
    assert eligibility(req, offer(location=" de bon ")) is None
    assert not is_travel(req, offer(location="DE BON"))
    assert eligibility(req, offer(location="CH GVA", travel_ok=True)) is None
    assert is_travel(req, offer(location="CH GVA", travel_ok=True))
    # Off-site work ignores places altogether.
    assert eligibility(request(location="KE NBO"), offer(location="CH GVA")) is None
    # An unknown place matches no place.
    assert eligibility(request(on_site=True, location=None), offer(location=None)) == "location"


def test_working_days_follow_the_deployment_setting() -> None:
    weekend = request(start=SAT, end=SAT + timedelta(1))
    sun_to_thu = frozenset({6, 0, 1, 2, 3})
    assert eligibility(weekend, offer(end=SAT + timedelta(1)), working_days=sun_to_thu) is None


def test_explain_covers_offers_of_the_same_kind_with_their_first_reason() -> None:
    problem = Problem(
        requests=[request(skills=frozenset({"web", "gis"}))],
        offers=[
            offer("o3", skills=frozenset({"web", "gis"})),
            offer("o1", skills=frozenset({"Web"})),
            offer("o2", kind="staff"),
            offer("o4", skills=frozenset({"web", "gis"}), secretariat="CITES"),
            offer("o5", skills=frozenset({"web", "gis"})),
        ],
        banned=frozenset({("r1", "o5")}),
    )
    out = explain(problem, "r1")
    assert [(c.offer_id, c.eligible, c.reason, c.missing_skills) for c in out] == [
        ("o1", False, "skills", ["gis"]),
        ("o3", True, None, []),
        ("o4", False, "same_secretariat", []),
        ("o5", False, "declined", []),
    ]
    with pytest.raises(KeyError):
        explain(problem, "nope")


# --------------------------------------------------------------------------- solving


def test_nothing_to_match() -> None:
    result = solve(Problem(requests=[], offers=[]))
    assert result.allocations == []
    assert (result.weight_served, result.hours_proposed, result.eligible_pairs) == (0, 0, 0)


def test_a_request_gets_whole_hours_day_by_day_within_limits() -> None:
    result = solve(Problem([request(remaining=10)], [offer(hours_per_day=4)]))
    (a,) = result.allocations
    assert a.hours == 10
    assert a.days == ((MON, 4), (MON + timedelta(1), 4), (MON + timedelta(2), 2))
    assert result.weight_served == 20
    assert (result.requests_considered, result.offers_considered, result.eligible_pairs) == (
        1,
        1,
        1,
    )


def test_higher_priority_is_served_first() -> None:
    low = request("low", weight=1, remaining=20)
    critical = request("crit", weight=8, remaining=12)
    result = solve(Problem([low, critical], [offer(total_left=15)]))
    hours = {a.request_id: a.hours for a in result.allocations}
    assert hours == {"crit": 12, "low": 3}
    assert result.weight_served == 12 * 8 + 3


def test_served_weight_is_maximised_not_greedy() -> None:
    # The critical request can use either offer; the normal one only the first. Greedy by
    # priority would let the critical request take the first offer and strand the other.
    crit = request("a", weight=8, remaining=8, skills=frozenset({"web"}))
    normal = request("b", weight=2, remaining=8, skills=frozenset({"gis"}))
    both = offer("o1", skills=frozenset({"web", "gis"}), total_left=8)
    web_only = offer("o2", skills=frozenset({"web"}), total_left=8)
    result = solve(Problem([crit, normal], [both, web_only]))
    assert result.weight_served == 8 * 8 + 2 * 8
    assert {(a.request_id, a.offer_id) for a in result.allocations} == {("a", "o2"), ("b", "o1")}


def test_accepted_hours_and_spent_offers_are_respected() -> None:
    used = {MON: 4, MON + timedelta(1): 3, MON + timedelta(2): 9}
    problem = Problem(
        [request(remaining=30), request("done", remaining=0)],
        [offer(used_by_day=used, total_left=100), offer("spent", total_left=0)],
    )
    result = solve(problem)
    (a,) = result.allocations
    assert a.days == ((MON + timedelta(1), 1), (MON + timedelta(3), 4), (MON + timedelta(4), 4))
    assert (result.requests_considered, result.offers_considered) == (1, 1)


def test_travel_is_avoided_when_weight_allows() -> None:
    req = request(on_site=True, location="DE BON", remaining=8)
    result = solve(
        Problem(
            [req],
            [offer("o1", location="CH GVA", travel_ok=True), offer("o2", location="DE BON")],
        )
    )
    assert [(a.offer_id, a.travel) for a in result.allocations] == [("o2", False)]
    assert result.travel_hours == 0
    # With only the travelling offer, it is used (weight comes before travel).
    only = solve(Problem([req], [offer("o1", location="CH GVA", travel_ok=True)]))
    assert only.travel_hours == 8
    assert only.allocations[0].travel


def test_previous_proposals_are_kept_when_nothing_better_exists() -> None:
    # Two identical offers: the previous run chose o2 on Wednesday and Thursday.
    req = request(remaining=8)
    previous = {("r1", "o2"): {MON + timedelta(2): 4, MON + timedelta(3): 4}}
    result = solve(Problem([req], [offer("o1"), offer("o2")], previous=previous))
    assert [(a.offer_id, a.days) for a in result.allocations] == [
        ("o2", ((MON + timedelta(2), 4), (MON + timedelta(3), 4)))
    ]
    assert (result.kept_hours, result.churn_hours) == (8, 0)
    # A declined pair's proposal is churn.
    banned = solve(Problem([req], [offer("o1"), offer("o2")], frozenset({("r1", "o2")}), previous))
    assert (banned.kept_hours, banned.churn_hours) == (0, 8)


def test_same_input_in_another_order_gives_the_same_result() -> None:
    problem = _random_problem(random.Random(5), 12, 8)
    shuffled = replace(
        problem,
        requests=random.Random(1).sample(list(problem.requests), len(problem.requests)),
        offers=random.Random(2).sample(list(problem.offers), len(problem.offers)),
        previous=dict(reversed(list(problem.previous.items()))),
    )
    a, b = solve(problem), solve(shuffled)
    assert a.allocations == b.allocations
    assert a.allocations == sorted(a.allocations, key=lambda x: (x.request_id, x.offer_id))


def test_duplicate_ids_are_refused() -> None:
    with pytest.raises(ValueError, match="unique"):
        solve(Problem([request(), request()], [offer()]))


def test_figures_describe_the_graph() -> None:
    result = solve(Problem([request(), request("r2")], [offer(), offer("o2")]))
    assert result.eligible_pairs == 4
    assert result.graph_nodes > 0
    assert result.graph_arcs > 0
    assert result.solve_seconds >= 0


# --------------------------------------------------------------------------- the reference


def _random_problem(
    rng: random.Random,
    n_req: int,
    n_off: int,
    horizon: int = 20,
    secretariats: str = "XYZ",
    calendars: bool = False,
) -> Problem:
    """A random instance; with `calendars`, each secretariat has holidays and closures and
    some offers have unavailable dates."""
    skills = ["web", "gis", "av"]
    places = ["GVA", "BON", None]
    reqs = []
    for i in range(n_req):
        s = MON + timedelta(rng.randrange(horizon))
        reqs.append(
            RequestIn(
                id=f"r{i}",
                secretariat=rng.choice(secretariats),
                kind=rng.choice(["ict", "staff"]),
                skills=frozenset(rng.sample(skills, rng.randrange(3))),
                start=s,
                end=s + timedelta(rng.randrange(12)),
                remaining=rng.randrange(-2, 25),
                weight=rng.choice([1, 2, 4, 8]),
                on_site=rng.random() < 0.4,
                location=rng.choice(places),
            )
        )
    offs = []
    for i in range(n_off):
        s = MON + timedelta(rng.randrange(horizon))
        e = s + timedelta(rng.randrange(16))
        used = {
            s + timedelta(rng.randrange(16)): rng.randrange(0, 9) for _ in range(rng.randrange(4))
        }
        offs.append(
            OfferIn(
                id=f"o{i}",
                secretariat=rng.choice(secretariats),
                kind=rng.choice(["ict", "staff"]),
                skills=frozenset(rng.sample(skills, rng.randrange(4))),
                start=s,
                end=e,
                hours_per_day=rng.randrange(0, 7),
                total_left=rng.randrange(-1, 40),
                used_by_day=used,
                location=rng.choice(places),
                travel_ok=rng.random() < 0.5,
                unavailable_dates=frozenset(
                    s + timedelta(rng.randrange(16)) for _ in range(rng.randrange(4) * calendars)
                ),
            )
        )
    days_off = {
        sec: frozenset(
            MON + timedelta(rng.randrange(horizon + 16)) for _ in range(rng.randrange(6))
        )
        for sec in secretariats
        if calendars
    }
    banned = frozenset(
        (f"r{rng.randrange(n_req)}", f"o{rng.randrange(n_off)}") for _ in range(rng.randrange(4))
    )
    # Previous proposals: those of a slightly different problem, plus some noise.
    previous: dict[tuple[str, str], dict[date, int]] = {}
    if rng.random() < 0.7:
        before = Problem(
            [replace(r, remaining=r.remaining + rng.randrange(-5, 6)) for r in reqs],
            [o for o in offs if rng.random() < 0.8],
        )
        if calendars and rng.random() < 0.5:
            # The previous run did not know of today's holidays yet.
            before = replace(
                before, offers=[replace(o, unavailable_dates=frozenset()) for o in before.offers]
            )
        for a in solve(before).allocations:
            previous[(str(a.request_id), str(a.offer_id))] = dict(a.days)
    for _ in range(rng.randrange(4)):
        key = (f"r{rng.randrange(n_req)}", f"o{rng.randrange(n_off)}")
        day = MON + timedelta(rng.randrange(horizon + 10))
        previous.setdefault(key, {})[day] = rng.randrange(1, 6)
    return Problem(
        reqs,
        offs,
        banned,
        previous,
        frozenset(rng.sample(range(7), rng.randrange(3, 7))),
        days_off,
    )


def _reference(problem: Problem) -> tuple[int, int, int]:
    """Best (served weight, travel hours, kept hours), lexicographically, by a linear program
    over one variable per (request, offer, day), built from the rules one pair at a time."""
    reqs = [r for r in problem.requests if r.remaining > 0]
    offs = [o for o in problem.offers if o.total_left > 0]
    columns = []  # (request, offer, day, travel, previous hours)
    day_left: dict[tuple[int, date], int] = {}
    for i, r in enumerate(reqs):
        for j, o in enumerate(offs):
            if (
                eligibility(r, o, problem.banned, problem.working_days, problem.days_off)
                is not None
            ):
                continue
            prev = problem.previous.get((r.id, o.id), {})
            off = blocked_days(r, o, problem.days_off)
            day = max(r.start, o.start)
            while day <= min(r.end, o.end):
                left = o.hours_per_day - o.used_by_day.get(day, 0)
                if day.weekday() in problem.working_days and day not in off and left > 0:
                    day_left[(j, day)] = left
                    columns.append((i, j, day, is_travel(r, o), max(prev.get(day, 0), 0)))
                day += timedelta(1)
    n = len(columns)
    if n == 0:
        return 0, 0, 0
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    inf = highspy.kHighsInf
    # x (hours) then k (hours kept, k <= x and k <= previous hours).
    h.addCols(
        2 * n,
        np.zeros(2 * n),
        np.zeros(2 * n),
        np.array([inf] * n + [c[4] for c in columns], dtype=float),
        0,
        [],
        [],
        [],
    )
    rows: dict[tuple[object, ...], list[int]] = defaultdict(list)
    for col, (i, j, day, _, _) in enumerate(columns):
        rows[("day", j, day)].append(col)
        rows[("offer", j)].append(col)
        rows[("request", i)].append(col)
    for key, cols in rows.items():
        if key[0] == "day":
            ub = day_left[(key[1], key[2])]  # type: ignore[index]
        elif key[0] == "offer":
            ub = offs[key[1]].total_left  # type: ignore[index]
        else:
            ub = reqs[key[1]].remaining  # type: ignore[index]
        h.addRow(-inf, ub, len(cols), np.array(cols, dtype=np.int32), np.ones(len(cols)))
    for col in range(n):
        h.addRow(-inf, 0, 2, np.array([n + col, col], dtype=np.int32), np.array([1.0, -1.0]))
    every = np.arange(2 * n, dtype=np.int32)
    weight = np.array([reqs[c[0]].weight for c in columns] + [0] * n, dtype=float)
    travel = np.array([float(c[3]) for c in columns] + [0.0] * n)
    kept = np.array([0.0] * n + [1.0] * n)
    out = []
    for sense, cost in ((-1, weight), (1, travel), (-1, kept)):
        h.changeColsCost(2 * n, every, sense * cost)
        h.run()
        value = sense * h.getInfo().objective_function_value
        best = round(value)
        assert abs(value - best) < 1e-6, "the program has an integral optimum"
        out.append(best)
        # Stay on this level's optimal face for the next one.
        if sense < 0:
            h.addRow(best - 1e-7, inf, 2 * n, every, cost)
        else:
            h.addRow(-inf, best + 1e-7, 2 * n, every, cost)
    return out[0], out[1], out[2]


def _check_limits(problem: Problem, result: Result) -> None:
    """Every limit of matching.md holds on the output, and its figures add up."""
    reqs = {r.id: r for r in problem.requests}
    offs = {o.id: o for o in problem.offers}
    per_request: dict[object, int] = defaultdict(int)
    per_offer: dict[object, int] = defaultdict(int)
    per_offer_day: dict[tuple[object, date], int] = defaultdict(int)
    weight = travel = hours = kept = 0
    for a in result.allocations:
        r, o = reqs[a.request_id], offs[a.offer_id]
        assert eligibility(r, o, problem.banned, problem.working_days, problem.days_off) is None
        assert r.remaining > 0
        usable = set(usable_days(r, o, problem.working_days, problem.days_off))
        assert a.travel == is_travel(r, o)
        assert a.days == tuple(sorted(a.days))
        assert len({d for d, _ in a.days}) == len(a.days)
        assert a.hours == sum(h for _, h in a.days)
        for day, h in a.days:
            assert isinstance(h, int)
            assert h > 0
            assert day.weekday() in problem.working_days
            assert max(r.start, o.start) <= day <= min(r.end, o.end)
            assert day in usable, "no hours on a holiday, closure or unavailable day"
            per_offer_day[(o.id, day)] += h
            kept += min(h, problem.previous.get((r.id, o.id), {}).get(day, 0))
        per_request[r.id] += a.hours
        per_offer[o.id] += a.hours
        weight += r.weight * a.hours
        travel += a.hours if a.travel else 0
        hours += a.hours
    for rid, h in per_request.items():
        assert h <= reqs[rid].remaining
    for oid, h in per_offer.items():
        assert h <= offs[oid].total_left
    for (oid, day), h in per_offer_day.items():
        assert h <= offs[oid].hours_per_day - offs[oid].used_by_day.get(day, 0)
    previous = sum(h for days in problem.previous.values() for h in days.values() if h > 0)
    assert (result.weight_served, result.travel_hours, result.hours_proposed) == (
        weight,
        travel,
        hours,
    )
    assert (result.kept_hours, result.churn_hours) == (kept, previous - kept)
    pairs = [(a.request_id, a.offer_id) for a in result.allocations]
    assert pairs == sorted(pairs)


MODES = [
    {},
    {"force_stages": True},
    {"exact_up_to": 0, "all_pairs_up_to": 0},
    {"exact_up_to": 0},
]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    n_req=st.integers(1, 12),
    n_off=st.integers(1, 8),
)
def test_solve_is_optimal_and_within_every_limit(seed: int, n_req: int, n_off: int) -> None:
    problem = _random_problem(random.Random(seed), n_req, n_off)
    expected = _reference(problem)
    for mode in MODES:
        result = solve(problem, **mode)  # type: ignore[arg-type]
        _check_limits(problem, result)
        assert (result.weight_served, result.travel_hours, result.kept_hours) == expected, mode


@settings(max_examples=100, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n_req=st.integers(1, 15), n_off=st.integers(1, 10))
def test_vectorised_eligibility_matches_the_rules(seed: int, n_req: int, n_off: int) -> None:
    problem = _random_problem(random.Random(seed), n_req, n_off)
    expected = sorted(
        (str(r.id), str(o.id), is_travel(r, o))
        for r in problem.requests
        for o in problem.offers
        if r.remaining > 0
        and o.total_left > 0
        and eligibility(r, o, problem.banned, problem.working_days) is None
    )
    got = [(str(r), str(o), t) for r, o, t in eligible_pairs(problem)]
    assert got == expected


def test_the_same_result_twice() -> None:
    problem = _random_problem(random.Random(11), 12, 8)
    assert solve(problem).allocations == solve(problem).allocations


def test_a_benchmark_instance_stays_within_limits() -> None:
    from bench.matching_instances import generate

    problem = generate("small")
    result = solve(problem)
    _check_limits(problem, result)
    assert result.weight_served == solve(problem, exact_up_to=0, all_pairs_up_to=0).weight_served


def test_allocation_is_a_plain_value() -> None:
    a = Allocation("r", "o", 3, ((MON, 3),), False)
    assert a == Allocation("r", "o", 3, ((MON, 3),), False)


def test_huge_hours_are_solved_in_exact_stages() -> None:
    # Folding three levels into one int64 cost is impossible at these magnitudes: the
    # engine solves the levels one after the other and stays exact.
    big = 10**15
    crit = request("a", weight=8, remaining=big, on_site=True, location="DE BON")
    low = request("b", weight=1, remaining=big)
    near = offer("o1", hours_per_day=big, total_left=big)
    far = offer("o2", hours_per_day=big, total_left=big, location="CH GVA", travel_ok=True)
    previous = {("b", "o2"): {MON: big // 2}, ("a", "o1"): {MON + timedelta(1): 7}}
    problem = Problem([crit, low], [near, far], previous=previous)
    result = solve(problem)
    _check_limits(problem, result)
    # Both requests are served in full; the critical one without travel, and as much of
    # the previous proposals as possible is kept.
    assert result.weight_served == 9 * big
    assert result.travel_hours == 0
    assert result.kept_hours == big // 2 + 7
    assert [(a.request_id, a.offer_id) for a in result.allocations] == [("a", "o1"), ("b", "o2")]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    n_req=st.integers(1, 12),
    n_off=st.integers(1, 8),
)
def test_holidays_closures_and_days_away_keep_the_optimum_between_two_secretariats(
    seed: int, n_req: int, n_off: int
) -> None:
    problem = _random_problem(random.Random(seed), n_req, n_off, secretariats="XY", calendars=True)
    expected = _reference(problem)
    for mode in MODES:
        result = solve(problem, **mode)  # type: ignore[arg-type]
        _check_limits(problem, result)
        assert (result.weight_served, result.travel_hours, result.kept_hours) == expected, mode
    got = [(str(r), str(o), t) for r, o, t in eligible_pairs(problem)]
    assert got == sorted(
        (str(r.id), str(o.id), is_travel(r, o))
        for r in problem.requests
        for o in problem.offers
        if r.remaining > 0
        and o.total_left > 0
        and eligibility(r, o, problem.banned, problem.working_days, problem.days_off) is None
    )


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), n_req=st.integers(1, 12), n_off=st.integers(1, 8))
def test_days_off_of_three_secretariats_are_never_worked(seed: int, n_req: int, n_off: int) -> None:
    problem = _random_problem(random.Random(seed), n_req, n_off, calendars=True)
    best_weight = _reference(problem)[0]
    for mode in MODES:
        result = solve(problem, **mode)  # type: ignore[arg-type]
        _check_limits(problem, result)
        assert result.weight_served <= best_weight


def test_a_pair_kept_apart_only_by_days_off_says_so() -> None:
    req = request(start=MON, end=MON + timedelta(1))
    off = offer(start=MON, end=MON + timedelta(4), unavailable_dates=frozenset({MON}))
    days_off = {"CITES": frozenset({MON + timedelta(1)})}
    assert eligibility(req, off, days_off=days_off) == DAYS_OFF
    assert eligibility(req, off) is None
    assert blocked_days(req, off, days_off) == {MON: "unavailable", MON + timedelta(1): "request"}
    problem = Problem([req], [off], days_off=days_off)
    assert solve(problem).allocations == []
    assert explain(problem, "r1")[0].reason == DAYS_OFF
