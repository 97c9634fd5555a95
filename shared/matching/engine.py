"""Matching engine: open workload requests and capacity offers in, proposed allocations out.

Pure: plain data in, plain data out, no I/O. The contract is ``shared/spec/matching.md``.

The model is an integer min-cost flow solved by OR-Tools' ``SimpleMinCostFlow``::

    source -> request          capacity remaining(r)
    request -> (offer, segment) the pair's arc, cost -weight (+ travel)
    (offer, segment) -> offer   capacity: sum of day_left over the segment's working days
    offer -> sink               capacity total_left(o)
    source -> sink              bypass: leaving hours unserved costs nothing

An offer's window is cut into *segments* where the set of requests that may use a day
changes: at the first and last common working day of each eligible pair, counted in
working-day indices so that weekends never make a cut. Inside a segment every request that
reaches it may use every day, so per-request amounts whose sum fits the segment's capacity
can always be laid out day by day (a transportation problem on a complete bipartite graph):
uneven ``day_left`` needs no cut. The only days with a node of their own are those that
carry a previous proposal of the offer: a *day node* (offer, day) of capacity day_left sits
between a bonus arc request -> day (capacity: the previous hours, one unit cheaper) and the
day's segment. That makes churn exact without splitting segments.

The objective is lexicographic: served weight, then travel hours, then churn. The levels
are folded into one integer cost per arc with multipliers derived from the instance's
bounds when the folded costs fit OR-Tools' int64 cost range; otherwise (or when OR-Tools
reports a cost range problem) they are solved in stages, each stage restricted to the
optimal face of the previous one by complementary slackness with exact node potentials.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Final, TypeAlias
from uuid import UUID

import numpy as np
import numpy.typing as npt
from ortools.graph.python.min_cost_flow import SimpleMinCostFlow

Id: TypeAlias = UUID | str
IntArray: TypeAlias = npt.NDArray[np.int64]
BoolArray: TypeAlias = npt.NDArray[np.bool_]

PRIORITY_WEIGHTS: Final[Mapping[str, int]] = {"low": 1, "normal": 2, "high": 4, "critical": 8}
WORKING_DAYS: Final[frozenset[int]] = frozenset({0, 1, 2, 3, 4})

# Reasons, in the order in which ``eligibility`` checks the rules of matching.md.
KIND: Final = "kind"
SKILLS: Final = "skills"
SAME_SECRETARIAT: Final = "same_secretariat"
DECLINED: Final = "declined"
LOCATION: Final = "location"
NO_COMMON_WORKING_DAY: Final = "no_common_working_day"

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


def normalise_skills(skills: frozenset[str] | set[str] | Sequence[str]) -> frozenset[str]:
    """Skill tags as they are compared: trimmed, case-folded, empty tags dropped."""
    out = {s.strip().casefold() for s in skills}
    out.discard("")
    return frozenset(out)


def _place(location: str | None) -> str | None:
    if location is None:
        return None
    return location.strip().casefold() or None


def same_place(a: str | None, b: str | None) -> bool:
    """Whether two locations are the same place; an unknown place matches nothing."""
    pa = _place(a)
    return pa is not None and pa == _place(b)


def missing_skills(request: RequestIn, offer: OfferIn) -> list[str]:
    """The request's skill tags (normalised) that the offer lacks, sorted."""
    return sorted(normalise_skills(request.skills) - normalise_skills(offer.skills))


def is_travel(request: RequestIn, offer: OfferIn) -> bool:
    """Whether the offered person would have to travel: on-site request, another place."""
    return request.on_site and not same_place(request.location, offer.location)


def has_common_working_day(
    request: RequestIn, offer: OfferIn, working_days: frozenset[int] = WORKING_DAYS
) -> bool:
    """Whether at least one working day lies in both windows."""
    lo = max(request.start, offer.start)
    hi = min(request.end, offer.end)
    span = (hi - lo).days + 1
    return any((lo + timedelta(days=i)).weekday() in working_days for i in range(min(span, 7)))


def eligibility(
    request: RequestIn,
    offer: OfferIn,
    banned: frozenset[tuple[Id, Id]] = frozenset(),
    working_days: frozenset[int] = WORKING_DAYS,
) -> str | None:
    """The first rule of matching.md that the pair breaks, or None when it is eligible."""
    if request.kind != offer.kind:
        return KIND
    if not normalise_skills(request.skills) <= normalise_skills(offer.skills):
        return SKILLS
    if request.secretariat == offer.secretariat:
        return SAME_SECRETARIAT
    if (request.id, offer.id) in banned:
        return DECLINED
    if request.on_site and not (same_place(request.location, offer.location) or offer.travel_ok):
        return LOCATION
    if not has_common_working_day(request, offer, working_days):
        return NO_COMMON_WORKING_DAY
    return None


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
        reason = eligibility(request, offer, problem.banned, problem.working_days)
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
    remaining and the offers with hours left, sorted by (offer id, request id)."""
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
    """Eligible pairs, sorted by (offer index, request index)."""

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

        # Accepted usage inside each offer's window, keyed by (offer, day).
        uo = [i for i, o in enumerate(offs) for _ in o.used_by_day]
        ud = [d.toordinal() for o in offs for d in o.used_by_day]
        uh = [h for o in offs for h in o.used_by_day.values()]
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

    def day_key(self, offer: IntArray, day: IntArray) -> IntArray:
        return offer * self.day_stride + (day - self.day_base)

    def day_left(self, offer: IntArray, day: IntArray) -> IntArray:
        """hours_per_day - accepted hours of each (offer, working day), never below zero."""
        hpd = self.o_hpd[offer]
        if self.used_keys.size == 0:
            return np.maximum(hpd, 0)
        found, at = _member(self.used_keys, self.day_key(offer, day))
        return np.maximum(hpd - np.where(found, self.used_hours[at], 0), 0)

    def _eligible_pairs(self, banned: frozenset[tuple[Id, Id]]) -> _Pairs:
        reqs, offs = self.requests, self.offers
        nr, no = len(reqs), len(offs)
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
        r_place = _codes([_place(r.location) for r in reqs], places)
        o_place = _codes([_place(o.location) for o in offs], places)
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
        order = np.argsort(po * nr + pr, kind="stable")
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
class _Network:
    """The flow network, as arrays. Arc blocks, in this order:

    source->request, request->segment (pair arcs), request->day (bonus arcs),
    day->segment, segment->offer, offer->sink, source->sink.
    """

    nodes: int
    tails: IntArray
    heads: IntArray
    caps: IntArray
    supply: int
    # pair arcs
    pair_arc: slice
    pair_of_arc: IntArray
    seg_of_arc: IntArray
    # bonus arcs (previous proposals that can be kept)
    bonus_arc: slice
    bonus_pair: IntArray
    bonus_day: IntArray
    bonus_hours: IntArray
    # segments: offer, first working day, one past the last
    seg_offer: IntArray
    seg_start: IntArray
    seg_end: IntArray
    # figures for the cost multipliers
    max_flow: int
    max_travel: int
    max_kept: int


def _network(inst: _Instance, previous: Mapping[tuple[Id, Id], Mapping[date, int]]) -> _Network:
    p = inst.pairs
    stride = inst.day_stride

    # Segment boundaries of each offer: its window and every pair's common window.
    active = np.unique(p.offer)
    bounds = np.unique(
        np.concatenate(
            [
                inst.day_key(active, inst.o_lo[active]),
                inst.day_key(active, inst.o_hi[active] + 1),
                inst.day_key(p.offer, p.lo),
                inst.day_key(p.offer, p.hi + 1),
            ]
        )
    )
    b_offer, b_day = np.divmod(bounds, stride)
    b_day += inst.day_base
    # Candidate segment j spans [bounds[j], bounds[j + 1]) when both belong to one offer.
    nb = bounds.size
    is_seg = np.zeros(nb, dtype=np.bool_)
    is_seg[:-1] = b_offer[:-1] == b_offer[1:]
    seg_len = np.zeros(nb, dtype=np.int64)
    seg_len[:-1] = b_day[1:] - b_day[:-1]
    seg_cap = np.where(is_seg, inst.o_hpd[b_offer] * seg_len, 0)
    if inst.used_keys.size and bounds.size:
        u_offer = inst.used_keys // stride
        j = np.searchsorted(bounds, inst.used_keys, side="right") - 1
        ok = (j >= 0) & (b_offer[np.maximum(j, 0)] == u_offer) & is_seg[np.maximum(j, 0)]
        hpd = inst.o_hpd[u_offer[ok]]
        np.add.at(seg_cap, j[ok], np.maximum(hpd - inst.used_hours[ok], 0) - hpd)

    # Pair arcs: one per (pair, segment with capacity) inside the pair's common window.
    j_lo = np.searchsorted(bounds, inst.day_key(p.offer, p.lo))
    j_hi = np.searchsorted(bounds, inst.day_key(p.offer, p.hi + 1))
    arc_seg = _ranges(j_lo, j_hi - j_lo)
    arc_pair = np.repeat(np.arange(p.request.size, dtype=np.int64), j_hi - j_lo)
    keep = seg_cap[arc_seg] > 0
    arc_seg, arc_pair = arc_seg[keep], arc_pair[keep]

    # Bonus arcs: previous proposals on an eligible pair, inside its common window, on a
    # working day that still has hours.
    b_pair, b_day_idx, b_hours = _previous_entries(inst, previous)
    b_left = inst.day_left(p.offer[b_pair], b_day_idx) if b_pair.size else b_pair
    keep = b_left > 0
    b_pair, b_day_idx, b_hours, b_left = b_pair[keep], b_day_idx[keep], b_hours[keep], b_left[keep]
    b_key = inst.day_key(p.offer[b_pair], b_day_idx)
    day_keys, b_daynode = np.unique(b_key, return_inverse=True)
    b_daynode = b_daynode.reshape(-1)
    day_seg = np.searchsorted(bounds, day_keys, side="right") - 1
    day_offer = day_keys // stride
    day_left = inst.day_left(day_offer, day_keys % stride + inst.day_base)

    used_segs, arc_seg_node = np.unique(arc_seg, return_inverse=True)
    arc_seg_node = arc_seg_node.reshape(-1)
    day_seg_node = np.searchsorted(used_segs, day_seg)
    req_active, arc_req_node = np.unique(p.request[arc_pair], return_inverse=True)
    arc_req_node = arc_req_node.reshape(-1)
    b_req_node = np.searchsorted(req_active, p.request[b_pair])
    off_active = np.unique(b_offer[used_segs])
    seg_off_node = np.searchsorted(off_active, b_offer[used_segs])

    n_req, n_seg, n_day, n_off = req_active.size, used_segs.size, day_keys.size, off_active.size
    first_req = 2
    first_seg = first_req + n_req
    first_day = first_seg + n_seg
    first_off = first_day + n_day
    nodes = first_off + n_off

    seg_cap_used = seg_cap[used_segs]
    off_total = inst.o_total[off_active]
    req_rem = inst.r_remaining[req_active]
    pair_cap = np.minimum(
        np.minimum(inst.r_remaining[p.request[arc_pair]], seg_cap[arc_seg]),
        inst.o_total[p.offer[arc_pair]],
    )
    bonus_cap = np.minimum(np.minimum(b_hours, b_left), inst.r_remaining[p.request[b_pair]])
    supply = int(req_rem.sum())
    blocks = [
        (np.zeros(n_req, np.int64), first_req + np.arange(n_req), req_rem),
        (first_req + arc_req_node, first_seg + arc_seg_node, pair_cap),
        (first_req + b_req_node, first_day + b_daynode, bonus_cap),
        (first_day + np.arange(n_day), first_seg + day_seg_node, day_left),
        (first_seg + np.arange(n_seg), first_off + seg_off_node, seg_cap_used),
        (first_off + np.arange(n_off), np.ones(n_off, np.int64), off_total),
        (np.zeros(1, np.int64), np.ones(1, np.int64), np.array([supply], np.int64)),
    ]
    sizes = np.cumsum([0] + [b[0].size for b in blocks])
    tails = np.concatenate([b[0] for b in blocks]).astype(np.int64)
    heads = np.concatenate([b[1] for b in blocks]).astype(np.int64)
    caps = np.concatenate([b[2] for b in blocks]).astype(np.int64)

    # Bounds used to fold the lexicographic objective into one cost.
    offer_seg_cap = np.bincount(seg_off_node, weights=seg_cap_used, minlength=n_off)
    offer_cap = np.minimum(off_total, offer_seg_cap.astype(np.int64))
    max_flow = min(supply, int(offer_cap.sum()))
    travel_arcs = p.travel[arc_pair]
    t_req = np.unique(arc_req_node[travel_arcs])
    t_off = np.unique(seg_off_node[arc_seg_node[travel_arcs]])
    max_travel = min(max_flow, int(req_rem[t_req].sum()), int(offer_cap[t_off].sum()))
    max_kept = min(max_flow, int(bonus_cap.sum()))
    return _Network(
        nodes=nodes,
        tails=tails,
        heads=heads,
        caps=caps,
        supply=supply,
        pair_arc=slice(int(sizes[1]), int(sizes[2])),
        pair_of_arc=arc_pair,
        seg_of_arc=arc_seg,
        bonus_arc=slice(int(sizes[2]), int(sizes[3])),
        bonus_pair=b_pair,
        bonus_day=b_day_idx,
        bonus_hours=b_hours,
        seg_offer=b_offer,
        seg_start=b_day,
        seg_end=np.append(b_day[1:], 0),
        max_flow=max_flow,
        max_travel=max_travel,
        max_kept=max_kept,
    )


def _previous_entries(
    inst: _Instance, previous: Mapping[tuple[Id, Id], Mapping[date, int]]
) -> tuple[IntArray, IntArray, IntArray]:
    """Previous proposals (pair, working-day index, hours) that an eligible pair can keep."""
    p = inst.pairs
    nr = len(inst.requests)
    rows: list[tuple[int, int, int]] = []
    for (rid, oid), days in previous.items():
        r = inst.request_index.get(rid)
        o = inst.offer_index.get(oid)
        if r is None or o is None:
            continue
        key = o * nr + r
        rows.extend((key, d.toordinal(), h) for d, h in days.items() if h > 0)
    if not rows or p.request.size == 0:
        z = np.zeros(0, dtype=np.int64)
        return z, z, z
    arr = np.array(rows, dtype=np.int64)
    found, pair = _member(p.offer * nr + p.request, arr[:, 0])
    day, working = inst.calendar.indices(arr[:, 1])
    ok = found & working & (p.lo[pair] <= day) & (day <= p.hi[pair])
    return pair[ok], day[ok], arr[ok, 2]


# --------------------------------------------------------------------------- solving


class CostRangeError(ArithmeticError):
    """OR-Tools cannot represent the folded costs of this instance."""


def _min_cost_flow(
    nodes: int,
    tails: IntArray,
    heads: IntArray,
    caps: IntArray,
    costs: IntArray,
    supplies: IntArray,
) -> IntArray:
    """Flows of an optimal solution (raises CostRangeError when costs are out of range)."""
    mcf = SimpleMinCostFlow()
    if tails.size:
        mcf.add_arcs_with_capacity_and_unit_cost(
            tails.astype(np.int32), heads.astype(np.int32), caps, costs
        )
    nz = np.flatnonzero(supplies)
    if nz.size:
        mcf.set_nodes_supplies(nz.astype(np.int32), supplies[nz])
    if tails.size == 0:
        return np.zeros(0, dtype=np.int64)
    status = mcf.solve()
    if status == mcf.BAD_COST_RANGE:
        raise CostRangeError("cost range")
    if status != mcf.OPTIMAL:
        raise RuntimeError(f"min-cost flow ended with status {status}")
    return np.asarray(mcf.flows(np.arange(tails.size, dtype=np.int32)), dtype=np.int64)


def _fits(max_abs_cost: int, nodes: int) -> bool:
    # OR-Tools multiplies every cost by (nodes + 1) and needs twice that in int64; keep a
    # further margin for its node potentials, which it checks at run time anyway.
    return max_abs_cost * 2 * (nodes + 1) * 64 <= _INT64_MAX


def _potentials(
    nodes: int,
    tails: IntArray,
    heads: IntArray,
    caps: IntArray,
    costs: IntArray,
    flows: IntArray,
) -> IntArray:
    """Node potentials that prove a flow optimal: reduced costs >= 0 on every residual arc.

    Found as shortest-path distances in the residual network from a root joined to every
    node, by a min-cost flow that sends one unit from the root to each node; the arcs that
    carry flow there are tight, so distances propagate along them from the root.
    """
    fwd = flows < caps
    bwd = flows > 0
    root = nodes
    rt = np.concatenate([tails[fwd], heads[bwd], np.full(nodes, root)])
    rh = np.concatenate([heads[fwd], tails[bwd], np.arange(nodes)])
    rc = np.concatenate([costs[fwd], -costs[bwd], np.zeros(nodes, np.int64)])
    supplies = np.full(nodes + 1, -1, dtype=np.int64)
    supplies[root] = nodes
    tree = _min_cost_flow(nodes + 1, rt, rh, np.full(rt.size, nodes + 1, np.int64), rc, supplies)
    carry = tree > 0
    t, h, c = rt[carry], rh[carry], rc[carry]
    dist = np.zeros(nodes + 1, dtype=np.int64)
    seen = np.zeros(nodes + 1, dtype=np.bool_)
    seen[root] = True
    frontier = seen.copy()
    while frontier.any():
        step = frontier[t] & ~seen[h]
        dist[h[step]] = dist[t[step]] + c[step]
        frontier = np.zeros_like(seen)
        frontier[h[step]] = True
        seen |= frontier
    return dist[:nodes]


def _lexicographic(
    net: _Network, levels: list[tuple[IntArray, int]], force_stages: bool = False
) -> tuple[IntArray, int]:
    """Flows optimal for the levels' costs in strict order; returns (flows, stages used).

    Each level is (costs, range): range bounds how much the level's total cost can differ
    between two feasible flows. Adjacent levels are folded into one cost, the upper one
    multiplied by the lower one's range + 1, while the result fits OR-Tools' cost range; the
    stages left are solved one after the other.
    """
    stages: list[tuple[IntArray, int]] = []
    for costs, bound in reversed(levels):
        if stages and not force_stages:
            low_costs, low_bound = stages[-1]
            mult = low_bound + 1
            top = int(np.abs(costs).max(initial=0)) * mult + int(np.abs(low_costs).max(initial=0))
            if _fits(top, net.nodes):
                stages[-1] = (costs * mult + low_costs, bound * mult + low_bound)
                continue
        stages.append((costs, bound))
    stages.reverse()
    return _staged(net, stages), len(stages)


def _staged(net: _Network, stages: list[tuple[IntArray, int]]) -> IntArray:
    tails, heads, caps = net.tails, net.heads, net.caps
    supplies = np.zeros(net.nodes, dtype=np.int64)
    supplies[0], supplies[1] = net.supply, -net.supply
    free = np.ones(tails.size, dtype=np.bool_)  # arcs whose flow is not fixed yet
    fixed = np.zeros(tails.size, dtype=np.int64)  # flow of the fixed arcs
    for k, (costs, _) in enumerate(stages):
        idx = np.flatnonzero(free)
        sub = _min_cost_flow(net.nodes, tails[idx], heads[idx], caps[idx], costs[idx], supplies)
        flows = fixed.copy()
        flows[idx] = sub
        if k == len(stages) - 1:
            return flows
        # Keep only the optimal face of this stage: by complementary slackness every
        # optimal flow leaves arcs of positive reduced cost empty and fills those of
        # negative reduced cost.
        pot = _potentials(net.nodes, tails[idx], heads[idx], caps[idx], costs[idx], sub)
        reduced = costs[idx] + pot[tails[idx]] - pot[heads[idx]]
        full = idx[reduced < 0]
        fixed[full] = caps[full]
        np.subtract.at(supplies, tails[full], caps[full])
        np.add.at(supplies, heads[full], caps[full])
        free[idx[reduced != 0]] = False
    raise AssertionError("no stage")


def _solve_flows(net: _Network, inst: _Instance, force_stages: bool) -> tuple[IntArray, int]:
    n_arcs = net.tails.size
    p = inst.pairs
    weight = np.zeros(n_arcs, dtype=np.int64)
    travel = np.zeros(n_arcs, dtype=np.int64)
    bonus = np.zeros(n_arcs, dtype=np.int64)
    weight[net.pair_arc] = -inst.r_weight[p.request[net.pair_of_arc]]
    weight[net.bonus_arc] = -inst.r_weight[p.request[net.bonus_pair]]
    travel[net.pair_arc] = p.travel[net.pair_of_arc]
    travel[net.bonus_arc] = p.travel[net.bonus_pair]
    bonus[net.bonus_arc] = -1
    max_weight = int(inst.r_weight.max(initial=1))
    levels = [
        (weight, max_weight * net.max_flow),
        (travel, net.max_travel),
        (bonus, net.max_kept),
    ]
    try:
        return _lexicographic(net, levels, force_stages)
    except CostRangeError:
        return _lexicographic(net, levels, force_stages=True)


# --------------------------------------------------------------------------- day by day


def _days(inst: _Instance, net: _Network, flows: IntArray) -> tuple[IntArray, IntArray, IntArray]:
    """Lay each pair's flow out on days: (pair, working-day index, hours), sorted by pair
    then day, one row per (pair, day).

    Bonus flow goes on its own day. The rest of a pair's flow into a segment fills the
    segment's days from the earliest on, pairs taken in request order, each day holding
    what its day_left leaves after the bonus flow on it. The flow into a segment never
    exceeds its capacity, and every pair reaching a segment may use all of its days, so
    this always fits.
    """
    p = inst.pairs
    bf = flows[net.bonus_arc]
    b = bf > 0
    bonus_pair, bonus_day, bonus_h = net.bonus_pair[b], net.bonus_day[b], bf[b]

    pf = flows[net.pair_arc]
    r = pf > 0
    arc_pair, arc_seg, arc_h = net.pair_of_arc[r], net.seg_of_arc[r], pf[r]
    # Within a segment (one offer) the flows are taken in request order.
    order = np.lexsort((p.request[arc_pair], arc_seg))
    arc_pair, arc_seg, arc_h = arc_pair[order], arc_seg[order], arc_h[order]

    segs = np.unique(arc_seg)
    lengths = net.seg_end[segs] - net.seg_start[segs]
    day_seg = np.repeat(segs, lengths)
    day = _ranges(net.seg_start[segs], lengths)
    day_offer = net.seg_offer[day_seg]
    cap = inst.day_left(day_offer, day)
    if bonus_h.size:
        keys, inverse = np.unique(inst.day_key(p.offer[bonus_pair], bonus_day), return_inverse=True)
        taken = np.bincount(inverse.reshape(-1), weights=bonus_h).astype(np.int64)
        found, at = _member(keys, inst.day_key(day_offer, day))
        cap = cap - np.where(found, taken[at], 0)
    keep = cap > 0
    day_seg, day, cap = day_seg[keep], day[keep], cap[keep]

    # Both sides as consecutive intervals on one line: days by their capacity, flows by
    # their hours, each segment's flows starting where its first day starts.
    c_end = np.cumsum(cap)
    c_start = c_end - cap
    a_end = np.cumsum(arc_h)
    a_start = a_end - arc_h
    if arc_h.size:
        seg_day0 = c_start[np.searchsorted(day_seg, segs)]
        seg_arc0 = a_start[np.searchsorted(arc_seg, segs)]
        shift = (seg_day0 - seg_arc0)[np.searchsorted(segs, arc_seg)]
        a_start, a_end = a_start + shift, a_end + shift
    points = np.unique(np.concatenate([a_start, a_end, c_start, c_end]))
    x, y = points[:-1], points[1:]
    ia = np.searchsorted(a_start, x, side="right") - 1
    inside = ia >= 0
    inside[inside] = x[inside] < a_end[ia[inside]]
    x, y, ia = x[inside], y[inside], ia[inside]
    ic = np.searchsorted(c_start, x, side="right") - 1

    pair = np.concatenate([arc_pair[ia], bonus_pair])
    days = np.concatenate([day[ic], bonus_day])
    hours = np.concatenate([y - x, bonus_h])
    keys, inverse = np.unique(pair * inst.day_stride + (days - inst.day_base), return_inverse=True)
    total = np.bincount(inverse.reshape(-1), weights=hours, minlength=keys.size).astype(np.int64)
    pair_out, day_out = np.divmod(keys, inst.day_stride)
    return pair_out, day_out + inst.day_base, total


# --------------------------------------------------------------------------- entry point


def solve(problem: Problem, *, force_stages: bool = False) -> Result:
    """Propose allocations that maximise served weight, then minimise travel, then churn.

    The same problem gives the same result whatever the order of its inputs.
    ``force_stages`` solves the objective's levels one after the other even when they
    could be folded into one cost (for tests).
    """
    started = time.perf_counter()
    inst = _Instance(problem)
    p = inst.pairs
    net = _network(inst, problem.previous)
    flows, _ = _solve_flows(net, inst, force_stages)
    pair, day, hours = _days(inst, net, flows)

    # Hours kept on the previous proposals' (request, offer, day).
    found, at = _member(
        pair * inst.day_stride + (day - inst.day_base),
        net.bonus_pair * inst.day_stride + (net.bonus_day - inst.day_base),
    )
    kept = int(np.minimum(np.where(found, hours[at], 0), net.bonus_hours).sum()) if pair.size else 0
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
    weight_served = int((inst.r_weight[p.request[pair]] * hours).sum())
    travel_hours = int(hours[travel_flags].sum())
    return Result(
        allocations=allocations,
        weight_served=weight_served,
        hours_proposed=int(hours.sum()),
        travel_hours=travel_hours,
        churn_hours=previous_hours - kept,
        kept_hours=kept,
        requests_considered=len(inst.requests),
        offers_considered=len(inst.offers),
        eligible_pairs=int(p.request.size),
        graph_nodes=net.nodes,
        graph_arcs=int(net.tails.size),
        solve_seconds=time.perf_counter() - started,
    )
