"""Matching engine: open workload requests and capacity offers in, proposed allocations out.

Pure: plain data in, plain data out, no I/O. The contract is ``shared/spec/matching.md``.

**Model.** An integer min-cost flow (OR-Tools ``SimpleMinCostFlow``)::

    source -> request            capacity remaining(r)
    request -> (offer, segment)  one arc per eligible pair and segment of its window
    (offer, segment) -> offer    capacity: sum of day_left over the segment's working days
    offer -> sink                capacity total_left(o)
    source -> sink               bypass: hours left unserved cost nothing

An offer's working days are cut into *segments* at the bounds of the common windows of its
pairs (in working-day numbers, so weekends make no cut). Inside a segment every pair that
reaches it may use every day, so amounts that fit the segment's capacity can always be laid
out day by day: uneven ``day_left`` needs no cut. A previous proposal (r, o, d) adds a *day
node* (o, d) of capacity day_left(o, d) before d's segment, reached by a bonus arc of
capacity the previous hours, one unit cheaper: that makes churn exact.

**Objective.** Served weight, then travel hours, then churn, folded into one integer cost
per arc with multipliers from the instance's bounds (each level's multiplier exceeds what
the levels below can vary). If the folded costs do not fit OR-Tools' int64 range, the
levels are solved in stages instead, each restricted to the optimal face of the previous
one by complementary slackness with exact node potentials.

**Solving large instances.** Building every (pair, segment) arc is too much at scale
(tens of millions). So: (1) a relaxation with one arc per pair straight to its offer
(capped by what its window holds, per-day limits ignored) suggests which pairs matter, with
column generation when there are very many pairs; (2) the exact network of the (pair, day)s
that flow used is solved, node potentials are computed (Bellman-Ford on the residual
network), and every pair is priced on its best day (range maxima of the potentials): the
(pair, day)s that could lower the cost are added and the network solved again, until none
can. The potentials then prove the flow optimal for the network of every pair and day.
Small instances are solved exactly in one go.

**Day by day.** Each offer's hours are laid out earliest deadline first: kept previous
hours on their own days, then each working day's day_left goes to the waiting pairs whose
window ends first (ties in request id order), earliest days first.

**Calendars.** A pair may only use its *usable* days: in both windows, a working day of
both secretariats (``Problem.days_off`` holds each one's holidays and closures), not an
unavailable date of the offer. The engine folds these into the offers' per-day limits: a day
an offer may not work on counts as used up (see ``_blocked_by_offer``), so the network,
the pricing and the schedule above need no change. That is exact whenever the requests
that could use an offer come from one secretariat (always so with two secretariats);
otherwise a day off of one of them is closed to all of them: never a day that is not
usable, but sometimes fewer hours than the optimum. Previous proposals on such days are
not kept (they count as churn).

**The rules** (eligibility, travel, usable days) are ``shared/support/rules.py``, the one
statement of them that the support services re-check pairs with too; the vectorised search
for eligible pairs below is their array form, tested against ``eligibility``.

**Choices where matching.md is silent.** Places compare trimmed and case-insensitively,
like skill tags; an on-site request with no place matches no offer's place (only travel).
Requests with remaining <= 0 and offers with total_left <= 0 are left out (and not counted
as considered). Churn counts every previous hour not kept, also those on pairs that are no
longer eligible. Remaining ties are broken by the order of ids (as strings): the same input
gives the same output, whatever the order it comes in.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Final, TypeAlias
from uuid import UUID

import numpy as np
import numpy.typing as npt
from ortools.graph.python.min_cost_flow import SimpleMinCostFlow

from shared.support import rules
from shared.support.rules import (
    SKILLS,
    WORKING_DAYS,
    is_travel,
    missing_skills,
    normalise_skills,
    place,
)

Id: TypeAlias = UUID | str
IntArray: TypeAlias = npt.NDArray[np.int64]
BoolArray: TypeAlias = npt.NDArray[np.bool_]

PRIORITY_WEIGHTS: Final[Mapping[str, int]] = {"low": 1, "normal": 2, "high": 4, "critical": 8}

_INT64_MAX: Final = (1 << 63) - 1
# A Monday: working days are numbered in whole weeks from here.
_MONDAY: Final = date(2001, 1, 1).toordinal()
# Candidate pairs expanded at once while testing eligibility (bounds temporary memory).
_PAIR_CHUNK: Final = 4_000_000


@dataclass(frozen=True, slots=True)
class RequestIn:
    """An open workload request as the engine sees it."""

    id: Id
    secretariat: str
    kind: str
    skills: frozenset[str]
    start: date
    end: date
    remaining: int
    """hours(r) - accepted hours; requests with remaining <= 0 take no part."""
    weight: int
    """1, 2, 4 or 8 (low, normal, high, critical)."""
    on_site: bool = False
    location: str | None = None


@dataclass(frozen=True, slots=True)
class OfferIn:
    """An active capacity offer as the engine sees it."""

    id: Id
    secretariat: str
    kind: str
    skills: frozenset[str]
    start: date
    end: date
    hours_per_day: int
    total_left: int
    """total_hours - accepted hours."""
    used_by_day: Mapping[date, int] = field(default_factory=dict)
    """Accepted hours of this offer per day: day_left = hours_per_day - used."""
    location: str | None = None
    travel_ok: bool = False
    unavailable_dates: frozenset[date] = frozenset()
    """Days in the window on which the people offered are away (leave, missions)."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One run's snapshot: open demand, open supply, declined pairs, previous proposals."""

    requests: Sequence[RequestIn]
    offers: Sequence[OfferIn]
    banned: frozenset[tuple[Id, Id]] = frozenset()
    """(request_id, offer_id) pairs declined before."""
    previous: Mapping[tuple[Id, Id], Mapping[date, int]] = field(default_factory=dict)
    """The previous run's proposals: (request_id, offer_id) -> {day: hours}."""
    working_days: frozenset[int] = WORKING_DAYS
    """``date.weekday()`` values that are working days."""
    days_off: Mapping[str, frozenset[date]] = field(default_factory=dict)
    """Per secretariat: working weekdays on which it does not work (public holidays of its
    duty station, its closures)."""


@dataclass(frozen=True, slots=True)
class Allocation:
    """Hours of one offer proposed to one request, day by day."""

    request_id: Id
    offer_id: Id
    hours: int
    days: tuple[tuple[date, int], ...]
    """Sorted by date; every entry has hours > 0."""
    travel: bool


@dataclass(slots=True)
class Result:
    """The proposals of one run and its figures."""

    allocations: list[Allocation]
    """Sorted by (request id, offer id) as strings."""
    weight_served: int
    hours_proposed: int
    travel_hours: int
    churn_hours: int
    """Previous proposal hours, counted per (request, offer, day), that were not kept."""
    kept_hours: int
    requests_considered: int
    offers_considered: int
    eligible_pairs: int
    graph_nodes: int
    graph_arcs: int
    solve_seconds: float


@dataclass(frozen=True, slots=True)
class Candidate:
    """Whether an offer can serve a request and, if not, the first rule that excludes it."""

    offer_id: Id
    eligible: bool
    reason: str | None
    missing_skills: list[str]
    travel: bool = False


# --------------------------------------------------------------------------- the rules


def eligibility(
    request: RequestIn,
    offer: OfferIn,
    banned: frozenset[tuple[Id, Id]] = frozenset(),
    working_days: frozenset[int] = WORKING_DAYS,
    days_off: Mapping[str, frozenset[date]] | None = None,
) -> str | None:
    """The first rule of matching.md that the pair breaks, or None when it is eligible
    (`rules.eligibility`, the pair declined when it is in `banned`)."""
    declined = (request.id, offer.id) in banned
    return rules.eligibility(request, offer, declined, working_days, days_off)


def explain(problem: Problem, request_id: Id) -> list[Candidate]:
    """Every offer of the request's kind, sorted by id: eligible, or the rule that excludes it.

    Capacity is not looked at (the API adds ``offer_withdrawn`` and ``no_capacity_left``).
    Raises KeyError for an unknown request.
    """
    request = next((r for r in problem.requests if r.id == request_id), None)
    if request is None:
        raise KeyError(request_id)
    out = []
    for offer in sorted(problem.offers, key=_key):
        if offer.kind != request.kind:
            continue
        reason = eligibility(request, offer, problem.banned, problem.working_days, problem.days_off)
        out.append(
            Candidate(
                offer_id=offer.id,
                eligible=reason is None,
                reason=reason,
                missing_skills=missing_skills(request, offer) if reason == SKILLS else [],
                travel=reason is None and is_travel(request, offer),
            )
        )
    return out


def eligible_pairs(problem: Problem) -> list[tuple[Id, Id, bool]]:
    """(request id, offer id, travel) of every eligible pair among the requests with hours
    remaining and the offers with hours left, sorted by (request id, offer id)."""
    inst = _Instance(problem)
    p = inst.pairs
    return [
        (inst.requests[r].id, inst.offers[o].id, bool(t))
        for r, o, t in zip(p.request.tolist(), p.offer.tolist(), p.travel.tolist(), strict=True)
    ]


# --------------------------------------------------------------------------- calendar


@dataclass(frozen=True, slots=True)
class _Calendar:
    """Working days numbered consecutively: index i <-> the i-th working day after _MONDAY."""

    weekdays: tuple[int, ...]
    prefix: tuple[int, ...]  # prefix[k]: working weekdays among the first k days of a week

    @classmethod
    def of(cls, working_days: frozenset[int]) -> _Calendar:
        weekdays = tuple(sorted(d for d in working_days if 0 <= d <= 6))
        return cls(weekdays, tuple(sum(1 for d in weekdays if d < k) for k in range(8)))

    @property
    def per_week(self) -> int:
        return len(self.weekdays)

    def before(self, ordinals: IntArray) -> IntArray:
        """Number (relative) of working days strictly before each ordinal."""
        weeks, rest = np.divmod(ordinals - _MONDAY, 7)
        return weeks * self.per_week + np.asarray(self.prefix, dtype=np.int64)[rest]

    def window(self, starts: IntArray, ends: IntArray) -> tuple[IntArray, IntArray]:
        """Inclusive working-day index range of each [start, end]; empty when lo > hi."""
        if self.per_week == 0:
            return np.zeros_like(starts), np.full_like(starts, -1)
        return self.before(starts), self.before(ends + 1) - 1

    def indices(self, ordinals: IntArray) -> tuple[IntArray, BoolArray]:
        """Working-day index of each ordinal, and whether that day is a working day."""
        working = np.isin((ordinals - _MONDAY) % 7, np.asarray(self.weekdays, dtype=np.int64))
        return self.before(ordinals), working

    def ordinals(self, indices: IntArray) -> IntArray:
        weeks, j = np.divmod(indices, self.per_week)
        return _MONDAY + 7 * weeks + np.asarray(self.weekdays, dtype=np.int64)[j]


# --------------------------------------------------------------------------- the instance


def _blocked_by_offer(
    problem: Problem, requests: Sequence[RequestIn], offers: Sequence[OfferIn]
) -> list[frozenset[date]]:
    """Per offer, the working weekdays of its window on which it may carry no hours: its
    unavailable dates, its secretariat's days off, and the days off of the secretariats
    whose requests of its kind overlap its window.

    With two secretariats (or whenever an offer's requests come from one secretariat) this
    is exactly matching.md's usable days. When the requests that could use an offer come
    from several secretariats with different days off, a day off of one of them is closed
    to all: never a day that is not usable, sometimes fewer hours than the optimum.
    """
    days_off = problem.days_off
    if not any(days_off.values()) and not any(o.unavailable_dates for o in offers):
        return [frozenset()] * len(offers)
    spans: dict[tuple[str, str], tuple[date, date]] = {}
    for r in requests:
        key = (r.kind, r.secretariat)
        lo, hi = spans.get(key, (r.start, r.end))
        spans[key] = (min(lo, r.start), max(hi, r.end))
    working = problem.working_days
    out = []
    for o in offers:
        days = set(o.unavailable_dates) | set(days_off.get(o.secretariat, ()))
        for (kind, sec), (lo, hi) in spans.items():
            if kind == o.kind and sec != o.secretariat and lo <= o.end and hi >= o.start:
                days |= days_off.get(sec, frozenset())
        out.append(frozenset(d for d in days if o.start <= d <= o.end and d.weekday() in working))
    return out


def _key(item: RequestIn | OfferIn) -> str:
    return str(item.id)


def _ranges(starts: IntArray, lengths: IntArray) -> IntArray:
    """Concatenation of arange(s, s + n) for each (s, n)."""
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    ends = np.cumsum(lengths)
    return np.repeat(starts - (ends - lengths), lengths) + np.arange(total, dtype=np.int64)


def _codes(values: Sequence[object], table: dict[object, int]) -> IntArray:
    return np.fromiter(
        (table.setdefault(v, len(table)) for v in values), dtype=np.int64, count=len(values)
    )


def _bitmasks(masks: list[int], words: int) -> npt.NDArray[np.uint64]:
    out = np.zeros((len(masks), words), dtype=np.uint64)
    low = (1 << 64) - 1
    for w in range(words):
        out[:, w] = np.array([(m >> (64 * w)) & low for m in masks], dtype=np.uint64)
    return out


def _member(sorted_keys: IntArray, keys: IntArray) -> tuple[BoolArray, IntArray]:
    """Whether each key is in sorted_keys, and its position there (valid where found)."""
    if sorted_keys.size == 0:
        return np.zeros(keys.shape, dtype=np.bool_), np.zeros(keys.shape, dtype=np.int64)
    at = np.minimum(np.searchsorted(sorted_keys, keys), sorted_keys.size - 1)
    return sorted_keys[at] == keys, at


@dataclass(slots=True)
class _Pairs:
    """Eligible pairs, sorted by (request index, offer index)."""

    request: IntArray
    offer: IntArray
    lo: IntArray  # first common working day (index)
    hi: IntArray  # last common working day (index)
    travel: BoolArray

    @classmethod
    def empty(cls) -> _Pairs:
        z = np.zeros(0, dtype=np.int64)
        return cls(z, z, z, z, np.zeros(0, dtype=np.bool_))


class _Instance:
    """The inputs sorted by id and numbered, as arrays, with their eligible pairs."""

    def __init__(self, problem: Problem) -> None:
        self.calendar = cal = _Calendar.of(problem.working_days)
        self.requests = reqs = sorted((r for r in problem.requests if r.remaining > 0), key=_key)
        self.offers = offs = sorted((o for o in problem.offers if o.total_left > 0), key=_key)
        self.request_index = {r.id: i for i, r in enumerate(reqs)}
        self.offer_index = {o.id: i for i, o in enumerate(offs)}
        if len(self.request_index) != len(reqs) or len(self.offer_index) != len(offs):
            raise ValueError("request and offer ids must be unique")
        nr = len(reqs)
        self.r_remaining = np.array([r.remaining for r in reqs], dtype=np.int64)
        self.r_weight = np.array([r.weight for r in reqs], dtype=np.int64)
        if (self.r_weight <= 0).any():
            raise ValueError("request weights must be positive")
        self.o_total = np.array([o.total_left for o in offs], dtype=np.int64)
        self.o_hpd = np.array([o.hours_per_day for o in offs], dtype=np.int64)
        self.r_lo, self.r_hi = cal.window(
            np.array([r.start.toordinal() for r in reqs], dtype=np.int64),
            np.array([r.end.toordinal() for r in reqs], dtype=np.int64),
        )
        self.o_lo, self.o_hi = cal.window(
            np.array([o.start.toordinal() for o in offs], dtype=np.int64),
            np.array([o.end.toordinal() for o in offs], dtype=np.int64),
        )
        lows = np.concatenate([self.r_lo, self.o_lo, [0]])
        highs = np.concatenate([self.r_hi, self.o_hi, [0]])
        self.day_base = int(lows.min())
        # Keys (offer, working day) are offer * day_stride + (day - day_base).
        self.day_stride = int(highs.max()) - self.day_base + 2

        # Accepted usage inside each offer's window, keyed by (offer, day); a day the offer
        # may not work on (see _blocked_by_offer) counts as used up.
        blocked = _blocked_by_offer(problem, reqs, offs)
        usage: list[Mapping[date, int]] = [
            {**o.used_by_day, **dict.fromkeys(b, o.hours_per_day)} if b else o.used_by_day
            for o, b in zip(offs, blocked, strict=True)
        ]
        uo = [i for i, used in enumerate(usage) for _ in used]
        ud = [d.toordinal() for used in usage for d in used]
        uh = [h for used in usage for h in used.values()]
        used_o = np.array(uo, dtype=np.int64)
        used_d, working = cal.indices(np.array(ud, dtype=np.int64))
        used_h = np.array(uh, dtype=np.int64)
        keep = working & (used_h != 0)
        if cal.per_week:
            keep &= (self.o_lo[used_o] <= used_d) & (used_d <= self.o_hi[used_o])
        else:
            keep &= False
        keys = self.day_key(used_o[keep], used_d[keep])
        order = np.argsort(keys, kind="stable")
        self.used_keys = keys[order]
        self.used_hours = used_h[keep][order]
        self.pairs = self._eligible_pairs(problem.banned) if nr and offs else _Pairs.empty()
        if any(blocked) and self.pairs.request.size:
            self.pairs = self._without_blocked_pairs(blocked)

    def _without_blocked_pairs(self, blocked: list[frozenset[date]]) -> _Pairs:
        """The pairs left with at least one usable day (rule 6 of matching.md)."""
        bo = np.array([i for i, b in enumerate(blocked) for _ in b], dtype=np.int64)
        bd, _ = self.calendar.indices(
            np.array([d.toordinal() for b in blocked for d in b], dtype=np.int64)
        )
        keys = np.sort(self.day_key(bo, bd))
        p = self.pairs
        off_days = np.searchsorted(keys, self.day_key(p.offer, p.hi), side="right")
        off_days -= np.searchsorted(keys, self.day_key(p.offer, p.lo))
        keep = off_days < p.hi - p.lo + 1
        return _Pairs(p.request[keep], p.offer[keep], p.lo[keep], p.hi[keep], p.travel[keep])

    def day_key(self, offer: IntArray, day: IntArray) -> IntArray:
        return offer * self.day_stride + (day - self.day_base)

    def day_left(self, offer: IntArray, day: IntArray) -> IntArray:
        """hours_per_day - accepted hours of each (offer, working day), never below zero."""
        hpd = self.o_hpd[offer]
        if self.used_keys.size == 0:
            return np.maximum(hpd, 0)
        found, at = _member(self.used_keys, self.day_key(offer, day))
        return np.maximum(hpd - np.where(found, self.used_hours[at], 0), 0)

    def window_hours(self, offer: IntArray, lo: IntArray, hi: IntArray) -> IntArray:
        """Sum of day_left of each offer over the working days lo..hi (inclusive)."""
        hpd = np.maximum(self.o_hpd[offer], 0)
        full = hpd * np.maximum(hi - lo + 1, 0)
        if self.used_keys.size == 0:
            return full
        u_hpd = np.maximum(self.o_hpd[self.used_keys // self.day_stride], 0)
        cut = u_hpd - np.maximum(u_hpd - self.used_hours, 0)
        cum = np.concatenate([[0], np.cumsum(cut)])
        a = np.searchsorted(self.used_keys, self.day_key(offer, lo))
        b = np.searchsorted(self.used_keys, self.day_key(offer, hi), side="right")
        return full - (cum[b] - cum[a])

    def _eligible_pairs(self, banned: frozenset[tuple[Id, Id]]) -> _Pairs:
        reqs, offs = self.requests, self.offers
        no = len(offs)
        vocab: dict[str, int] = {}
        r_bits = [
            sum(1 << vocab.setdefault(s, len(vocab)) for s in normalise_skills(r.skills))
            for r in reqs
        ]
        o_bits = [
            sum(1 << vocab[s] for s in normalise_skills(o.skills) if s in vocab) for o in offs
        ]
        words = max(1, (len(vocab) + 63) // 64)
        r_mask = _bitmasks(r_bits, words)
        o_mask = _bitmasks(o_bits, words)

        places: dict[object, int] = {None: -1}
        r_place = _codes([place(r.location) for r in reqs], places)
        o_place = _codes([place(o.location) for o in offs], places)
        r_place[r_place == -1] = -2  # an unknown place matches nothing, not even itself
        secretariats: dict[object, int] = {}
        r_sec = _codes([r.secretariat for r in reqs], secretariats)
        o_sec = _codes([o.secretariat for o in offs], secretariats)
        kinds: dict[object, int] = {}
        r_kind = _codes([r.kind for r in reqs], kinds)
        o_kind = _codes([o.kind for o in offs], kinds)
        r_onsite = np.array([r.on_site for r in reqs], dtype=np.bool_)
        o_travel_ok = np.array([o.travel_ok for o in offs], dtype=np.bool_)
        banned_keys = np.array(
            sorted(
                self.request_index[r] * no + self.offer_index[o]
                for r, o in banned
                if r in self.request_index and o in self.offer_index
            ),
            dtype=np.int64,
        )

        out_r: list[IntArray] = []
        out_o: list[IntArray] = []
        for kind in range(len(kinds)):
            rk = np.flatnonzero((r_kind == kind) & (self.r_lo <= self.r_hi))
            ok = np.flatnonzero((o_kind == kind) & (self.o_lo <= self.o_hi))
            if rk.size == 0 or ok.size == 0:
                continue
            # Requests with the same skill set share one subset test against every offer.
            masks, group = np.unique(r_mask[rk], axis=0, return_inverse=True)
            group = group.reshape(-1)
            om = o_mask[ok]
            fits = np.ones((masks.shape[0], ok.size), dtype=np.bool_)
            for w in range(words):
                fits &= (masks[:, w, None] & ~om[None, :, w]) == 0
            g_idx, o_pos = np.nonzero(fits)
            ptr = np.zeros(masks.shape[0] + 1, dtype=np.int64)
            np.cumsum(np.bincount(g_idx, minlength=masks.shape[0]), out=ptr[1:])
            candidates = ok[o_pos]
            lengths = ptr[group + 1] - ptr[group]
            cum = np.cumsum(lengths)
            start = 0
            while start < rk.size:
                done = int(cum[start - 1]) if start else 0
                stop = max(int(np.searchsorted(cum, done + _PAIR_CHUNK, side="right")), start + 1)
                part = slice(start, stop)
                pr = np.repeat(rk[part], lengths[part])
                po = candidates[_ranges(ptr[group[part]], lengths[part])]
                keep = r_sec[pr] != o_sec[po]
                keep &= np.maximum(self.r_lo[pr], self.o_lo[po]) <= np.minimum(
                    self.r_hi[pr], self.o_hi[po]
                )
                keep &= ~r_onsite[pr] | (r_place[pr] == o_place[po]) | o_travel_ok[po]
                pr, po = pr[keep], po[keep]
                if banned_keys.size:
                    declined, _ = _member(banned_keys, pr * no + po)
                    pr, po = pr[~declined], po[~declined]
                out_r.append(pr)
                out_o.append(po)
                start = stop
        if not out_r:
            return _Pairs.empty()
        pr = np.concatenate(out_r)
        po = np.concatenate(out_o)
        # Each kind is already in (request, offer) order: a stable sort merges them.
        order = np.argsort(pr * no + po, kind="stable")
        pr, po = pr[order], po[order]
        return _Pairs(
            request=pr,
            offer=po,
            lo=np.maximum(self.r_lo[pr], self.o_lo[po]),
            hi=np.minimum(self.r_hi[pr], self.o_hi[po]),
            travel=r_onsite[pr] & (r_place[pr] != o_place[po]),
        )


# --------------------------------------------------------------------------- the network


@dataclass(slots=True)
class _Bonus:
    """Previous proposals that an eligible pair can keep: on a working day inside the
    pair's common window that still has hours left."""

    pair: IntArray
    day: IntArray
    hours: IntArray
    left: IntArray


def _bonus(inst: _Instance, previous: Mapping[tuple[Id, Id], Mapping[date, int]]) -> _Bonus:
    p = inst.pairs
    no = len(inst.offers)
    rows: list[tuple[int, int, int]] = []
    for (rid, oid), days in previous.items():
        r = inst.request_index.get(rid)
        o = inst.offer_index.get(oid)
        if r is not None and o is not None:
            rows.extend((r * no + o, d.toordinal(), h) for d, h in days.items() if h > 0)
    z = np.zeros(0, dtype=np.int64)
    if not rows or p.request.size == 0:
        return _Bonus(z, z, z, z)
    arr = np.array(sorted(rows), dtype=np.int64)
    found, pair = _member(p.request * no + p.offer, arr[:, 0])
    day, working = inst.calendar.indices(arr[:, 1])
    ok = found & working
    ok[ok] &= (p.lo[pair[ok]] <= day[ok]) & (day[ok] <= p.hi[pair[ok]])
    left = np.zeros_like(day)
    left[ok] = inst.day_left(p.offer[pair[ok]], day[ok])
    ok &= left > 0
    return _Bonus(pair[ok], day[ok], arr[ok, 2], left[ok])


@dataclass(slots=True)
class _Network:
    """The flow network of the selected pairs, as arrays.

    Nodes: 0 source, 1 sink, then requests, offers, segments, day nodes. Arc blocks, in
    this order: source->request, pair arcs (request->segment for exact pairs,
    request->offer for relaxed ones), request->day (bonus), day->segment, segment->offer,
    offer->sink, source->sink.
    """

    nodes: int
    tails: IntArray
    heads: IntArray
    caps: IntArray
    costs: IntArray
    supply: int
    request_ids: IntArray  # the requests that have a node, in node order (from node 2)
    offer_ids: IntArray  # the offers that have a node, in node order
    pair_arc: slice
    arc_pair: IntArray
    bonus_arc: slice
    bonus_pair: IntArray
    # the segments that have a node, in node order: offer, first day, one past the last
    seg_offer: IntArray
    seg_start: IntArray
    seg_end: IntArray


def _network(
    inst: _Instance,
    full: IntArray,
    coarse: IntArray,
    bonus: _Bonus,
    pair_costs: IntArray,
    pair_hours: IntArray,
    anchor_pair: IntArray | None = None,
    anchor_day: IntArray | None = None,
) -> _Network:
    """The network of some pairs (indices into inst.pairs).

    A *full* pair reaches every segment of its offer inside its common window; an
    *anchored* pair only the segments holding its anchor days. Either way the segments are
    cut at the bounds of their windows, so the offer's per-day limits hold for them. A
    *coarse* pair has one arc straight to its offer, capped by the hours its window can
    hold: per-day limits may be broken there, which the caller checks afterwards.
    """
    p = inst.pairs
    stride = inst.day_stride
    if anchor_pair is None or anchor_day is None:
        anchor_pair = anchor_day = np.zeros(0, dtype=np.int64)
    fine = np.union1d(full, anchor_pair)
    coarse = np.setdiff1d(coarse, fine)
    po, plo, phi = p.offer[fine], p.lo[fine], p.hi[fine]

    # Segments: an offer's days cut at the bounds of its exact pairs' common windows.
    bounds = np.unique(np.concatenate([inst.day_key(po, plo), inst.day_key(po, phi + 1)]))
    b_offer = bounds // stride
    b_day = bounds % stride + inst.day_base
    is_seg = np.zeros(bounds.size, dtype=np.bool_)
    is_seg[:-1] = b_offer[:-1] == b_offer[1:]
    seg_at = np.flatnonzero(is_seg)  # segment -> index of its first bound
    seg_offer = b_offer[seg_at]
    seg_cap = inst.window_hours(seg_offer, b_day[seg_at], b_day[seg_at + 1] - 1)

    def segment_of(pairs: IntArray, days: IntArray) -> IntArray:
        at = np.searchsorted(bounds, inst.day_key(p.offer[pairs], days), side="right") - 1
        return np.searchsorted(seg_at, at)

    fo = p.offer[full]
    lo_seg = np.searchsorted(seg_at, np.searchsorted(bounds, inst.day_key(fo, p.lo[full])))
    hi_seg = np.searchsorted(seg_at, np.searchsorted(bounds, inst.day_key(fo, p.hi[full] + 1)))
    arc_pair = np.concatenate([np.repeat(full, hi_seg - lo_seg), anchor_pair])
    arc_seg = np.concatenate(
        [_ranges(lo_seg, hi_seg - lo_seg), segment_of(anchor_pair, anchor_day)]
    )
    keys = np.unique(arc_pair * max(seg_at.size, 1) + arc_seg)
    arc_pair, arc_seg = np.divmod(keys, max(seg_at.size, 1))
    keep = seg_cap[arc_seg] > 0
    fine_pair, arc_seg = arc_pair[keep], arc_seg[keep]
    coarse = coarse[pair_hours[coarse] > 0]

    # Bonus arcs and their day nodes (pairs with previous proposals are always exact).
    b_sel = np.isin(bonus.pair, full)
    b_pair, bonus_day, b_hours, b_left = (
        bonus.pair[b_sel],
        bonus.day[b_sel],
        bonus.hours[b_sel],
        bonus.left[b_sel],
    )
    day_keys, b_daynode = np.unique(inst.day_key(p.offer[b_pair], bonus_day), return_inverse=True)
    b_daynode = b_daynode.reshape(-1)
    day_left = inst.day_left(day_keys // stride, day_keys % stride + inst.day_base)
    day_seg = np.searchsorted(seg_at, np.searchsorted(bounds, day_keys, side="right") - 1)

    # Node numbering: only what some arc uses.
    used_seg = np.unique(np.concatenate([arc_seg, day_seg]))
    req_ids = np.unique(np.concatenate([p.request[fine_pair], p.request[coarse]]))
    off_ids = np.unique(np.concatenate([seg_offer[used_seg], p.offer[coarse]]))
    n_req, n_off, n_seg, n_day = req_ids.size, off_ids.size, used_seg.size, day_keys.size
    first_req, first_off = 2, 2 + n_req
    first_seg = first_off + n_off
    first_day = first_seg + n_seg
    nodes = first_day + n_day

    def req_node(r: IntArray) -> IntArray:
        return first_req + np.searchsorted(req_ids, r)

    def off_node(o: IntArray) -> IntArray:
        return first_off + np.searchsorted(off_ids, o)

    def seg_node(j: IntArray) -> IntArray:
        return first_seg + np.searchsorted(used_seg, j)

    rem = inst.r_remaining
    # The source only needs as much supply as the offers can take: the rest would just
    # cross the bypass, and a large excess slows the solver down a lot.
    inflow = np.bincount(
        np.searchsorted(off_ids, seg_offer[used_seg]), weights=seg_cap[used_seg], minlength=n_off
    ) + np.bincount(
        np.searchsorted(off_ids, p.offer[coarse]), weights=pair_hours[coarse], minlength=n_off
    )
    offer_cap = np.minimum(inst.o_total[off_ids], inflow.astype(np.int64))
    supply = min(int(rem[req_ids].sum()), int(offer_cap.sum()))
    arc_pair = np.concatenate([fine_pair, coarse])
    blocks = [
        # (tails, heads, capacities, costs)
        (np.zeros(n_req, np.int64), req_node(req_ids), rem[req_ids], None),
        (
            req_node(p.request[arc_pair]),
            np.concatenate([seg_node(arc_seg), off_node(p.offer[coarse])]),
            # An exact pair's arc never binds (its request's arc does): the potentials
            # then price every day of its segment alike.
            np.concatenate([rem[p.request[fine_pair]] + 1, pair_hours[coarse]]),
            pair_costs[arc_pair],
        ),
        (
            req_node(p.request[b_pair]),
            first_day + b_daynode,
            np.minimum(np.minimum(b_hours, b_left), rem[p.request[b_pair]]),
            pair_costs[b_pair] - 1,
        ),
        (first_day + np.arange(n_day), seg_node(day_seg), day_left, None),
        (first_seg + np.arange(n_seg), off_node(seg_offer[used_seg]), seg_cap[used_seg], None),
        (off_node(off_ids), np.ones(n_off, np.int64), inst.o_total[off_ids], None),
        (np.zeros(1, np.int64), np.ones(1, np.int64), np.array([supply], np.int64), None),
    ]
    sizes = np.cumsum([0] + [b[0].size for b in blocks])
    return _Network(
        nodes=nodes,
        tails=np.concatenate([b[0] for b in blocks]).astype(np.int64),
        heads=np.concatenate([b[1] for b in blocks]).astype(np.int64),
        caps=np.concatenate([b[2] for b in blocks]).astype(np.int64),
        costs=np.concatenate(
            [b[3] if b[3] is not None else np.zeros(b[0].size, np.int64) for b in blocks]
        ).astype(np.int64),
        supply=supply,
        request_ids=req_ids,
        offer_ids=off_ids,
        pair_arc=slice(int(sizes[1]), int(sizes[2])),
        arc_pair=arc_pair,
        bonus_arc=slice(int(sizes[2]), int(sizes[3])),
        bonus_pair=b_pair,
        seg_offer=seg_offer[used_seg],
        seg_start=b_day[seg_at[used_seg]],
        seg_end=b_day[seg_at[used_seg] + 1],
    )


# --------------------------------------------------------------------------- solving


class _CostRangeError(ArithmeticError):
    """OR-Tools cannot represent this instance's costs."""


def _min_cost_flow(net: _Network, costs: IntArray, arcs: IntArray, supplies: IntArray) -> IntArray:
    """Flows of an optimal solution on the given arcs of the network (the others empty)."""
    flows = np.zeros(net.tails.size, dtype=np.int64)
    if arcs.size == 0:
        return flows
    mcf = SimpleMinCostFlow()
    mcf.add_arcs_with_capacity_and_unit_cost(
        net.tails[arcs].astype(np.int32),
        net.heads[arcs].astype(np.int32),
        net.caps[arcs],
        costs[arcs],
    )
    nz = np.flatnonzero(supplies)
    if nz.size:
        mcf.set_nodes_supplies(nz.astype(np.int32), supplies[nz])
    status = mcf.solve()
    if status == mcf.BAD_COST_RANGE:
        raise _CostRangeError("cost range")
    if status != mcf.OPTIMAL:
        raise RuntimeError(f"min-cost flow ended with status {status}")
    flows[arcs] = mcf.flows(np.arange(arcs.size, dtype=np.int32))
    return flows


def _fits(max_abs_cost: int, nodes: int) -> bool:
    # OR-Tools multiplies each cost by (nodes + 1) and needs twice that in int64. Its node
    # potentials can go further; it checks them at run time (BAD_COST_RANGE).
    return max_abs_cost * 2 * (nodes + 1) <= _INT64_MAX


def _potentials(
    nodes: int, tails: IntArray, heads: IntArray, caps: IntArray, costs: IntArray, flows: IntArray
) -> IntArray:
    """Node potentials that prove a flow optimal: reduced cost >= 0 on every residual arc.

    Shortest distances in the residual network from a virtual root joined to every node at
    cost 0 (Bellman-Ford, relaxing only the arcs out of nodes whose distance changed). The
    residual network of an optimal flow has no negative cycle, so this ends.
    """
    fwd = flows < caps
    bwd = flows > 0
    rt = np.concatenate([tails[fwd], heads[bwd]])
    rh = np.concatenate([heads[fwd], tails[bwd]])
    rc = np.concatenate([costs[fwd], -costs[bwd]])
    order = np.argsort(rt, kind="stable")
    rt, rh, rc = rt[order], rh[order], rc[order]
    ptr = np.searchsorted(rt, np.arange(nodes + 1))
    dist = np.zeros(nodes, dtype=np.int64)
    frontier = np.arange(nodes, dtype=np.int64)
    for _ in range(nodes + 1):
        arcs = _ranges(ptr[frontier], ptr[frontier + 1] - ptr[frontier])
        cand = dist[rt[arcs]] + rc[arcs]
        head = rh[arcs]
        better = cand < dist[head]
        head, cand = head[better], cand[better]
        if head.size == 0:
            return dist
        order = np.lexsort((cand, head))
        head, cand = head[order], cand[order]
        firsts = np.flatnonzero(np.diff(head, prepend=-1))
        frontier = head[firsts]
        dist[frontier] = cand[firsts]
    raise RuntimeError("negative cycle: the flow is not optimal")


def _fold(levels: list[tuple[IntArray, int]], nodes: int, force_stages: bool) -> list[IntArray]:
    """Fold lexicographic levels into as few cost vectors as fit OR-Tools' cost range.

    Each level is (costs, spread): spread bounds how much the level's total cost can differ
    between two feasible flows. A level is multiplied by the spread of the ones below + 1,
    so that one unit of it outweighs anything below.
    """
    stages: list[tuple[IntArray, int]] = []
    for costs, spread in reversed(levels):
        if stages and not force_stages:
            low, low_spread = stages[-1]
            mult = low_spread + 1
            top = int(np.abs(costs).max(initial=0)) * mult + int(np.abs(low).max(initial=0))
            if _fits(top, nodes):
                stages[-1] = (costs * mult + low, spread * mult + low_spread)
                continue
        stages.append((costs, spread))
    return [c for c, _ in reversed(stages)]


def _staged(net: _Network, stages: list[IntArray]) -> IntArray:
    """Optimal flows for the stages' costs in strict order.

    After each stage only its optimal face is kept: by complementary slackness every
    optimal flow leaves arcs of positive reduced cost empty and fills those of negative
    reduced cost, so those arcs are fixed and the rest stay free.
    """
    tails, heads, caps = net.tails, net.heads, net.caps
    supplies = np.zeros(net.nodes, dtype=np.int64)
    supplies[0], supplies[1] = net.supply, -net.supply
    free = np.arange(tails.size)
    flows = np.zeros(tails.size, dtype=np.int64)
    for k, costs in enumerate(stages):
        sub = _min_cost_flow(net, costs, free, supplies)
        flows[free] = sub[free]
        if k == len(stages) - 1:
            break
        t, h, c, w = tails[free], heads[free], caps[free], costs[free]
        pot = _potentials(net.nodes, t, h, c, w, sub[free])
        reduced = w + pot[t] - pot[h]
        full = reduced < 0
        np.subtract.at(supplies, t[full], c[full])
        np.add.at(supplies, h[full], c[full])
        free = free[reduced == 0]
    return flows


# --------------------------------------------------------------------------- day by day


@dataclass(slots=True)
class _Schedule:
    pair: IntArray  # rows (pair, working-day index, hours), sorted by pair then day
    day: IntArray
    hours: IntArray
    late: IntArray  # relaxed pairs of offers whose hours do not fit their days


def _schedule(
    inst: _Instance, pair_flow: IntArray, bonus_flow: IntArray, bonus: _Bonus
) -> _Schedule:
    """Lay each pair's hours out on days, offer by offer, earliest deadline first.

    Bonus hours (previous proposals kept) go on their own day. Each working day then gives
    what its day_left leaves to the waiting pairs whose common window ends first (ties in
    request order). With windows that are intervals, this finds a schedule whenever one
    exists; when it fails, the offer's pairs are returned as late.
    """
    p = inst.pairs
    rows_p: list[int] = []
    rows_d: list[int] = []
    rows_h: list[int] = []
    late: list[int] = []

    b = bonus_flow > 0
    taken: dict[int, int] = {}
    regular = pair_flow.copy()
    for q, d, h in zip(
        bonus.pair[b].tolist(), bonus.day[b].tolist(), bonus_flow[b].tolist(), strict=True
    ):
        rows_p.append(q)
        rows_d.append(d)
        rows_h.append(h)
        key = int(p.offer[q]) * inst.day_stride + d - inst.day_base
        taken[key] = taken.get(key, 0) + h
        regular[q] -= h

    live = np.flatnonzero(regular > 0)
    if live.size:
        order = np.lexsort((p.request[live], p.lo[live], p.offer[live]))
        live = live[order]
        offers = p.offer[live]
        cuts = [*np.flatnonzero(np.diff(offers, prepend=-1)).tolist(), live.size]
        used = dict(zip(inst.used_keys.tolist(), inst.used_hours.tolist(), strict=True))
        base = inst.day_base
        los, his = p.lo[live].tolist(), p.hi[live].tolist()
        reqs, amounts, qs = p.request[live].tolist(), regular[live].tolist(), live.tolist()
        hpds = inst.o_hpd.tolist()
        for a, z in itertools.pairwise(cuts):
            o = int(offers[a])
            hpd = hpds[o]
            key0 = o * inst.day_stride - base
            waiting: list[tuple[int, int, int, int]] = []  # (deadline, request, index, pair)
            left = dict(zip(range(a, z), amounts[a:z], strict=True))
            k = a
            day = los[a]
            failed = False
            while k < z or waiting:
                if not waiting and k < z and los[k] > day:
                    day = los[k]
                while k < z and los[k] <= day:
                    heapq.heappush(waiting, (his[k], reqs[k], k, qs[k]))
                    k += 1
                if waiting[0][0] < day:
                    failed = True
                    break
                key = key0 + day
                cap = max(hpd - used.get(key, 0), 0) - taken.get(key, 0)
                while cap > 0 and waiting:
                    _, _, i, q = waiting[0]
                    give = min(cap, left[i])
                    rows_p.append(q)
                    rows_d.append(day)
                    rows_h.append(give)
                    cap -= give
                    left[i] -= give
                    if left[i] == 0:
                        heapq.heappop(waiting)
                day += 1
            if failed:
                late.extend(qs[a:z])
    out_p = np.array(rows_p, dtype=np.int64)
    out_d = np.array(rows_d, dtype=np.int64)
    out_h = np.array(rows_h, dtype=np.int64)
    keys, inverse = np.unique(
        out_p * inst.day_stride + (out_d - inst.day_base), return_inverse=True
    )
    total = np.bincount(inverse.reshape(-1), weights=out_h, minlength=keys.size).astype(np.int64)
    pair_out, day_out = np.divmod(keys, inst.day_stride)
    return _Schedule(pair_out, day_out + inst.day_base, total, np.array(late, dtype=np.int64))


# --------------------------------------------------------------------------- entry point

# Above this many eligible pairs, pairs are brought into the network by column generation
# (priced with the restricted network's potentials) instead of all at once.
_ALL_PAIRS_UP_TO: Final = 400_000
# Up to this many (pair, common working day) the exact network of every pair is solved
# directly, without the relaxation and pricing rounds.
_EXACT_UP_TO: Final = 200_000
_FIRST_PER_REQUEST: Final = 8
# The relaxation only suggests pairs (the exact rounds prove optimality): a few rounds do.
_RELAXED_ROUNDS: Final = 3
_ADDED_PER_REQUEST: Final = 8  # relaxed pairs added per request and round
_ANCHORS_PER_REQUEST: Final = 2  # exact (pair, day)s added per request and round


@dataclass(slots=True)
class _Solution:
    net: _Network
    flows: IntArray
    schedule: _Schedule
    rounds: int


def _levels(
    inst: _Instance, net: _Network, spreads: tuple[int, int, int]
) -> list[tuple[IntArray, int]]:
    """Per-arc costs of the objective's levels on a network, with their spreads."""
    p = inst.pairs
    n = net.tails.size
    weight = np.zeros(n, np.int64)
    travel = np.zeros(n, np.int64)
    keep = np.zeros(n, np.int64)
    weight[net.pair_arc] = -inst.r_weight[p.request[net.arc_pair]]
    weight[net.bonus_arc] = -inst.r_weight[p.request[net.bonus_pair]]
    travel[net.pair_arc] = p.travel[net.arc_pair]
    travel[net.bonus_arc] = p.travel[net.bonus_pair]
    keep[net.bonus_arc] = -1
    return [(weight, spreads[0]), (travel, spreads[1]), (keep, spreads[2])]


def _spreads(inst: _Instance, bonus: _Bonus, pair_hours: IntArray) -> tuple[int, int, int]:
    """Bounds on served weight, travel hours and kept hours over all feasible flows."""
    p = inst.pairs
    if p.request.size == 0:
        return 0, 0, 0
    offer_cap = np.minimum(
        inst.o_total, inst.window_hours(np.arange(len(inst.offers)), inst.o_lo, inst.o_hi)
    )
    live = pair_hours > 0
    nr, no = len(inst.requests), len(inst.offers)

    def served(index: IntArray, size: int, mask: BoolArray) -> BoolArray:
        return np.bincount(index[mask], minlength=size) > 0

    hours = min(
        int(inst.r_remaining[served(p.request, nr, live)].sum()),
        int(offer_cap[served(p.offer, no, live)].sum()),
    )
    t = live & p.travel
    travel = min(
        hours,
        int(inst.r_remaining[served(p.request, nr, t)].sum()),
        int(offer_cap[served(p.offer, no, t)].sum()),
    )
    kept = min(hours, int(bonus.hours.sum()))
    return int(inst.r_weight.max(initial=1)) * hours, travel, kept


def _flows_per_pair(inst: _Instance, net: _Network, flows: IntArray) -> tuple[IntArray, IntArray]:
    n = inst.pairs.request.size
    pair_flow = np.bincount(net.arc_pair, weights=flows[net.pair_arc], minlength=n)
    pair_flow += np.bincount(net.bonus_pair, weights=flows[net.bonus_arc], minlength=n)
    return pair_flow.astype(np.int64), flows[net.bonus_arc]


def _optimise(
    inst: _Instance, bonus: _Bonus, force_stages: bool, all_pairs_up_to: int, exact_up_to: int
) -> _Solution:
    """Optimal flows, found on as small a network as can be proven optimal.

    First a relaxation finds which pairs are worth having: each pair has one arc to its
    offer, capped by the hours its window can hold, per-day limits ignored (with more
    eligible pairs than ``all_pairs_up_to``, pairs come in by column generation). Then the
    exact network of the (pair, day)s that relaxed flow used is solved, and every pair is
    priced day by day with that network's node potentials; the best day of each pair that
    could improve the flow is added and the network solved again, until none can. The
    potentials then prove the flow optimal for the network of every pair and every day.
    """
    p = inst.pairs
    n_pairs = p.request.size
    pair_hours = np.minimum(
        np.minimum(inst.window_hours(p.offer, p.lo, p.hi), inst.o_total[p.offer]),
        inst.r_remaining[p.request],
    )
    spreads = _spreads(inst, bonus, pair_hours)
    weight = -inst.r_weight[p.request]
    travel = p.travel.astype(np.int64)
    mult_t = spreads[2] + 1
    mult_w = spreads[1] * mult_t + spreads[2] + 1
    top = int(inst.r_weight.max(initial=1)) * mult_w + mult_t + 1
    nodes_bound = 3 + len(inst.requests) + len(inst.offers) + 2 * n_pairs + bonus.pair.size
    folded = not force_stages and _fits(top, nodes_bound)
    pair_costs = weight * mult_w + travel * mult_t if folded else np.zeros_like(weight)
    everything = np.arange(n_pairs, dtype=np.int64)
    none = everything[:0]
    with_bonus = np.unique(bonus.pair)
    rounds = 0
    if folded:
        # Folded costs outside OR-Tools' range: fall through to the staged solve below.
        with contextlib.suppress(_CostRangeError):
            if int((p.hi - p.lo + 1).sum()) <= exact_up_to:
                # Small enough to solve the exact network of every pair at once.
                net = _network(inst, everything, none, bonus, pair_costs, pair_hours)
                return _finish(inst, net, _solve_network(net), bonus, 1)

            # The relaxation.
            if n_pairs <= all_pairs_up_to:
                selected = everything
            else:
                selected = _first_selection(inst, bonus, pair_hours)
            while True:
                rounds += 1
                net = _network(inst, with_bonus, selected, bonus, pair_costs, pair_hours)
                flows = _solve_network(net)
                if selected.size == n_pairs or rounds >= _RELAXED_ROUNDS:
                    break
                pot = _potentials(net.nodes, net.tails, net.heads, net.caps, net.costs, flows)
                added = _price_relaxed(inst, net, pot, pair_costs, pair_hours, selected)
                if added.size == 0:
                    break
                selected = np.union1d(selected, added)
            pair_flow, bonus_flow = _flows_per_pair(inst, net, flows)
            # The days an earliest-deadline schedule of that flow would use (where it fits).
            rough = _schedule(inst, pair_flow, bonus_flow, bonus)
            anchor_pair, anchor_day = rough.pair, rough.day
            # Where it does not fit, those pairs may use any day of their windows.
            full = np.union1d(with_bonus, rough.late)

            # The exact network, grown by pricing.
            pricer = _DayPricer(inst, pair_costs, pair_hours)
            while True:
                rounds += 1
                net = _network(
                    inst, full, none, bonus, pair_costs, pair_hours, anchor_pair, anchor_day
                )
                flows = _solve_network(net)
                pot = _potentials(net.nodes, net.tails, net.heads, net.caps, net.costs, flows)
                add_pair, add_day = pricer(net, pot)
                if add_pair.size == 0:
                    break
                anchor_pair = np.concatenate([anchor_pair, add_pair])
                anchor_day = np.concatenate([anchor_day, add_day])
            return _finish(inst, net, flows, bonus, rounds)
    # Solve the levels in stages on the exact network of every pair.
    net = _network(inst, everything, none, bonus, pair_costs, pair_hours)
    flows = _staged(net, _fold(_levels(inst, net, spreads), net.nodes, force_stages))
    return _finish(inst, net, flows, bonus, rounds + 1)


def _finish(
    inst: _Instance, net: _Network, flows: IntArray, bonus: _Bonus, rounds: int
) -> _Solution:
    pair_flow, bonus_flow = _flows_per_pair(inst, net, flows)
    schedule = _schedule(inst, pair_flow, bonus_flow, bonus)
    if schedule.late.size:
        raise AssertionError("the exact network's flow does not fit its days")
    return _Solution(net, flows, schedule, rounds)


def _solve_network(net: _Network) -> IntArray:
    supplies = np.zeros(net.nodes, dtype=np.int64)
    supplies[0], supplies[1] = net.supply, -net.supply
    return _min_cost_flow(net, net.costs, np.arange(net.tails.size), supplies)


def _first_selection(inst: _Instance, bonus: _Bonus, pair_hours: IntArray) -> IntArray:
    """Per request the pairs most likely to serve it: no travel first, then the most hours."""
    p = inst.pairs
    score = p.travel.astype(np.int64) * (int(pair_hours.max(initial=0)) + 1) - pair_hours
    chosen = _best_per_request(p.request, score, pair_hours > 0, _FIRST_PER_REQUEST)
    return np.union1d(chosen, bonus.pair)


def _best_per_request(request: IntArray, score: IntArray, allowed: BoolArray, k: int) -> IntArray:
    """Indices of up to k allowed entries of least score per request (ties: first index).

    ``request`` is sorted, so each request's entries are contiguous: k passes of segmented
    minima, without sorting.
    """
    if request.size == 0:
        return request
    starts = np.flatnonzero(np.diff(request, prepend=-1))
    lengths = np.diff(np.append(starts, request.size))
    group = np.repeat(np.arange(starts.size), lengths)
    avail = allowed.copy()
    top = np.iinfo(np.int64).max
    chosen: list[IntArray] = []
    for _ in range(k):
        s = np.where(avail, score, top)
        least = np.minimum.reduceat(s, starts)
        hit = np.flatnonzero(avail & (s == np.repeat(least, lengths)))
        if hit.size == 0:
            break
        first = hit[np.flatnonzero(np.diff(group[hit], prepend=-1))]
        chosen.append(first)
        avail[first] = False
    return np.sort(np.concatenate(chosen)) if chosen else request[:0]


def _price_relaxed(
    inst: _Instance,
    net: _Network,
    pot: IntArray,
    pair_costs: IntArray,
    pair_hours: IntArray,
    selected: IntArray,
) -> IntArray:
    """Pairs outside the network whose relaxed arc has a negative reduced cost.

    Such an arc (request -> offer) would join nodes whose potentials are known: a request
    or offer without a node takes the source's or the sink's potential, which its empty
    arc from the source or to the sink allows. If no outside pair has a negative reduced
    cost, the potentials prove the flow optimal for the relaxation over every pair.
    Returns at most a few pairs per request, the most negative first.
    """
    p = inst.pairs
    pot_req, pot_off = _request_offer_potentials(inst, net, pot)
    out = np.ones(p.request.size, dtype=np.bool_)
    out[selected] = False
    out &= pair_hours > 0
    cand = np.flatnonzero(out)
    reduced = pair_costs[cand] + pot_req[p.request[cand]] - pot_off[p.offer[cand]]
    return _most_negative(inst, cand, reduced)


def _most_negative(
    inst: _Instance,
    cand: IntArray,
    reduced: IntArray,
    req: IntArray | None = None,
    per_request: int = _ADDED_PER_REQUEST,
) -> IntArray:
    """The candidates of negative reduced cost, at most a few per request, best first.

    Candidates come in request order."""
    if req is None:
        req = inst.pairs.request[cand]
    neg = reduced < 0
    cand, reduced, req = cand[neg], reduced[neg], req[neg]
    return cand[_best_per_request(req, reduced, np.ones(cand.size, np.bool_), per_request)]


def _request_offer_potentials(
    inst: _Instance, net: _Network, pot: IntArray
) -> tuple[IntArray, IntArray]:
    """Potentials of every request and offer; those without a node take the source's and
    the sink's (their empty arc from the source or to the sink allows it)."""
    pot_req = np.full(len(inst.requests), pot[0], dtype=np.int64)
    pot_req[net.request_ids] = pot[2 + np.arange(net.request_ids.size)]
    pot_off = np.full(len(inst.offers), pot[1], dtype=np.int64)
    pot_off[net.offer_ids] = pot[2 + net.request_ids.size + np.arange(net.offer_ids.size)]
    return pot_req, pot_off


class _DayPricer:
    """Prices (pair, day) arcs missing from the exact network, for one instance.

    The network's potentials extend to the network over every pair and every day: a day of
    a segment takes the segment's potential; any other day with hours left takes its
    offer's (the least its empty arc to the offer allows); days without hours take no
    flow. A pair's best day is the earliest of highest potential in its common window
    (range maxima by a sparse table). Arcs in the network never bind, so their reduced
    cost is never negative. If no pair has a negative reduced cost on its best day, the
    flow is optimal for every pair and every day.
    """

    def __init__(self, inst: _Instance, pair_costs: IntArray, pair_hours: IntArray) -> None:
        p = inst.pairs
        self.inst = inst
        self.length = np.maximum(inst.o_hi - inst.o_lo + 1, 0)
        self.base = np.zeros(len(inst.offers) + 1, dtype=np.int64)
        np.cumsum(self.length, out=self.base[1:])
        cand = np.flatnonzero(pair_hours > 0)
        o = p.offer[cand]
        left = self.base[o] + p.lo[cand] - inst.o_lo[o]
        span = p.hi[cand] - p.lo[cand] + 1
        level = np.floor(np.log2(span)).astype(np.int64)
        # Grouped by sparse-table level, each group in request order.
        order = np.argsort(level, kind="stable")
        self.cand = cand[order]
        self.left = left[order]
        self.right = (left + span - (1 << level))[order]
        self.level_at = np.searchsorted(level[order], np.arange(int(level.max(initial=0)) + 2))
        self.cost = pair_costs[self.cand]
        self.request = p.request[self.cand]
        no_hours = np.repeat(inst.o_hpd <= 0, self.length)
        if inst.used_keys.size:
            u_off = inst.used_keys // inst.day_stride
            u_day = inst.used_keys % inst.day_stride + inst.day_base
            full = inst.used_hours >= inst.o_hpd[u_off]
            no_hours[self.base[u_off[full]] + u_day[full] - inst.o_lo[u_off[full]]] = True
        self.no_hours = np.flatnonzero(no_hours)

    def __call__(self, net: _Network, pot: IntArray) -> tuple[IntArray, IntArray]:
        """At most a few (pair, day)s per request of negative reduced cost, best first."""
        inst = self.inst
        p = inst.pairs
        pot_req, pot_off = _request_offer_potentials(inst, net, pot)
        day_pot = np.repeat(pot_off, self.length)
        seg_len = net.seg_end - net.seg_start
        at = np.repeat(self.base[net.seg_offer] - inst.o_lo[net.seg_offer] + net.seg_start, seg_len)
        at += _ranges(np.zeros(seg_len.size, np.int64), seg_len)
        first_seg = 2 + net.request_ids.size + net.offer_ids.size
        day_pot[at] = np.repeat(pot[first_seg + np.arange(seg_len.size)], seg_len)
        low = np.iinfo(np.int64).min
        day_pot[self.no_hours] = low

        # Sparse table of (maximum, its earliest position) over spans of 2^k days.
        values = [day_pot]
        where = [np.arange(day_pot.size, dtype=np.int64)]
        for k in range(1, self.level_at.size - 1):
            step = 1 << (k - 1)
            v, w = values[-1], where[-1]
            right = v[step:] > v[:-step]
            values.append(np.where(right, v[step:], v[:-step]))
            where.append(np.where(right, w[step:], w[:-step]))
        best = np.empty(self.cand.size, dtype=np.int64)
        best_at = np.empty(self.cand.size, dtype=np.int64)
        for k in range(self.level_at.size - 1):
            part = slice(int(self.level_at[k]), int(self.level_at[k + 1]))
            lv = values[k][self.left[part]]
            rv = values[k][self.right[part]]
            right = rv > lv
            best[part] = np.where(right, rv, lv)
            best_at[part] = np.where(right, where[k][self.right[part]], where[k][self.left[part]])
        reduced = self.cost + pot_req[self.request] - best
        neg = np.flatnonzero((best != low) & (reduced < 0))
        neg = neg[np.argsort(self.request[neg], kind="stable")]
        chosen = neg[
            _best_per_request(
                self.request[neg], reduced[neg], np.ones(neg.size, np.bool_), _ANCHORS_PER_REQUEST
            )
        ]
        pairs = self.cand[chosen]
        o = p.offer[pairs]
        return pairs, best_at[chosen] - self.base[o] + inst.o_lo[o]


def solve(
    problem: Problem,
    *,
    force_stages: bool = False,
    all_pairs_up_to: int = _ALL_PAIRS_UP_TO,
    exact_up_to: int = _EXACT_UP_TO,
) -> Result:
    """Propose allocations that maximise served weight, then minimise travel, then churn.

    The same problem gives the same result whatever the order of its inputs.
    ``force_stages`` solves the objective's levels one after the other on the exact
    network instead of folding them into one cost; ``all_pairs_up_to`` is the number of
    eligible pairs above which pairs are brought in by column generation (both for tests).
    """
    started = time.perf_counter()
    for items, what in ((problem.requests, "request"), (problem.offers, "offer")):
        if len({str(x.id) for x in items}) != len(items):
            raise ValueError(f"{what} ids must be unique")
    kinds = {r.kind for r in problem.requests if r.remaining > 0} & {
        o.kind for o in problem.offers if o.total_left > 0
    }
    if len(kinds) > 1:
        # Kinds never mix: each is its own, smaller problem.
        parts = [
            _solve_one(
                replace(
                    problem,
                    requests=[r for r in problem.requests if r.kind == kind],
                    offers=[o for o in problem.offers if o.kind == kind],
                ),
                force_stages,
                all_pairs_up_to,
                exact_up_to,
            )
            for kind in sorted(kinds)
        ]
        return _merge(problem, parts, started)
    return _solve_one(problem, force_stages, all_pairs_up_to, exact_up_to, started)


def _merge(problem: Problem, parts: list[Result], started: float) -> Result:
    kept = sum(r.kept_hours for r in parts)
    previous_hours = sum(h for days in problem.previous.values() for h in days.values() if h > 0)
    allocations = sorted(
        (a for r in parts for a in r.allocations),
        key=lambda a: (str(a.request_id), str(a.offer_id)),
    )
    return Result(
        allocations=allocations,
        weight_served=sum(r.weight_served for r in parts),
        hours_proposed=sum(r.hours_proposed for r in parts),
        travel_hours=sum(r.travel_hours for r in parts),
        churn_hours=previous_hours - kept,
        kept_hours=kept,
        requests_considered=sum(1 for r in problem.requests if r.remaining > 0),
        offers_considered=sum(1 for o in problem.offers if o.total_left > 0),
        eligible_pairs=sum(r.eligible_pairs for r in parts),
        graph_nodes=sum(r.graph_nodes for r in parts),
        graph_arcs=sum(r.graph_arcs for r in parts),
        solve_seconds=time.perf_counter() - started,
    )


def _solve_one(
    problem: Problem,
    force_stages: bool,
    all_pairs_up_to: int,
    exact_up_to: int,
    started: float | None = None,
) -> Result:
    started = time.perf_counter() if started is None else started
    inst = _Instance(problem)
    p = inst.pairs
    bonus = _bonus(inst, problem.previous)
    sol = _optimise(inst, bonus, force_stages, all_pairs_up_to, exact_up_to)
    net, sched = sol.net, sol.schedule
    pair, day, hours = sched.pair, sched.day, sched.hours

    # Hours kept on the previous proposals' (request, offer, day).
    kept = 0
    if pair.size and bonus.pair.size:
        found, at = _member(
            pair * inst.day_stride + (day - inst.day_base),
            bonus.pair * inst.day_stride + (bonus.day - inst.day_base),
        )
        kept = int(np.minimum(np.where(found, hours[at], 0), bonus.hours).sum())
    previous_hours = sum(h for days in problem.previous.values() for h in days.values() if h > 0)

    # Allocations by (request, offer): requests and offers are numbered in id order.
    order = np.lexsort((day, p.offer[pair], p.request[pair]))
    pair, day, hours = pair[order], day[order], hours[order]
    travel_flags = p.travel[pair]
    ordinals = inst.calendar.ordinals(day).tolist() if day.size else []
    hour_list = hours.tolist()
    starts = np.flatnonzero(np.diff(pair, prepend=-1)).tolist()
    ends = [*starts[1:], int(pair.size)] if starts else []
    allocations = [
        Allocation(
            request_id=inst.requests[int(p.request[pair[s]])].id,
            offer_id=inst.offers[int(p.offer[pair[s]])].id,
            hours=sum(hour_list[s:e]),
            days=tuple(zip(map(date.fromordinal, ordinals[s:e]), hour_list[s:e], strict=True)),
            travel=bool(travel_flags[s]),
        )
        for s, e in zip(starts, ends, strict=True)
    ]
    return Result(
        allocations=allocations,
        weight_served=int((inst.r_weight[p.request[pair]] * hours).sum()),
        hours_proposed=int(hours.sum()),
        travel_hours=int(hours[travel_flags].sum()),
        churn_hours=previous_hours - kept,
        kept_hours=kept,
        requests_considered=len(inst.requests),
        offers_considered=len(inst.offers),
        eligible_pairs=int(p.request.size),
        graph_nodes=net.nodes,
        graph_arcs=int(net.tails.size),
        solve_seconds=time.perf_counter() - started,
    )
