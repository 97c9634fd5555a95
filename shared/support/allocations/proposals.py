"""Where the matching engine plugs in: a run's proposals replace the previous run's.

`apply_proposals` is called in the run's transaction. It locks what it touches in the fixed
order (offers, requests, allocations), checks that the whole set still fits every rule and
limit of matching.md against the data as it is now (the run's snapshot may be stale: an
offer withdrawn, an allocation accepted mid-run), and raises `ProposalsRejected` when not,
leaving the previous proposals intact; the caller rolls back and runs again.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from shared.errors import Conflict
from shared.feed import changes, events, history
from shared.models import Allocation, AllocationDay, CapacityOffer, WorkloadRequest
from shared.support import figures, rules
from shared.support.allocations import repository as repo
from shared.support.allocations.repository import Pair, Proposed
from shared.support.allocations.service import drop
from shared.support.offers import repository as offers
from shared.support.requests import repository as requests


@dataclass(frozen=True, slots=True)
class ProposalIn:
    """Hours of one offer proposed to one request, day by day (the engine's output)."""

    request_id: uuid.UUID
    offer_id: uuid.UUID
    hours: int
    days: tuple[tuple[date, int], ...]
    travel: bool


class ProposalLike(Protocol):
    """Anything shaped like a ProposalIn (the engine's own allocation type, for one)."""

    @property
    def request_id(self) -> uuid.UUID | str: ...
    @property
    def offer_id(self) -> uuid.UUID | str: ...
    @property
    def hours(self) -> int: ...
    @property
    def days(self) -> Sequence[tuple[date, int]]: ...
    @property
    def travel(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class ProposalChange:
    """One proposal the run added, changed or dropped; `hours` is 0 when dropped."""

    allocation_id: uuid.UUID
    request_id: uuid.UUID
    offer_id: uuid.UUID
    hours: int
    previous_hours: int


@dataclass(slots=True)
class ProposalDiff:
    """What a run changed in the proposals in force."""

    added: list[ProposalChange] = field(default_factory=list)
    changed: list[ProposalChange] = field(default_factory=list)
    dropped: list[ProposalChange] = field(default_factory=list)
    kept: list[uuid.UUID] = field(default_factory=list)


class ProposalsRejected(Conflict):
    """The proposals do not fit the data as it is now: run matching again."""

    type_slug = "proposals-rejected"


def _uuid(value: uuid.UUID | str) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def _shape(proposals: Sequence[ProposalLike]) -> dict[Pair, ProposalIn]:
    """The proposals by pair; ValueError when one is malformed (an engine bug)."""
    wanted: dict[Pair, ProposalIn] = {}
    for raw in proposals:
        p = ProposalIn(
            _uuid(raw.request_id),
            _uuid(raw.offer_id),
            int(raw.hours),
            tuple(sorted((d, int(h)) for d, h in raw.days)),
            bool(raw.travel),
        )
        pair = (p.request_id, p.offer_id)
        if pair in wanted:
            raise ValueError(f"two proposals for the pair {pair}")
        days = [d for d, _ in p.days]
        if len(set(days)) != len(days):
            raise ValueError(f"a day twice in the proposal for {pair}")
        if any(h < 1 for _, h in p.days) or p.hours != sum(h for _, h in p.days):
            raise ValueError(f"the proposal for {pair} has {p.hours} hours and other days")
        wanted[pair] = p
    return wanted


def _reject(pair: Pair, why: str) -> ProposalsRejected:
    return ProposalsRejected(
        f"Proposal for request {pair[0]} and offer {pair[1]}: {why}.",
        request_id=str(pair[0]),
        offer_id=str(pair[1]),
    )


def _closed(
    offer: CapacityOffer, request_secretariat: str, days_off: Mapping[str, frozenset[date]] | None
) -> frozenset[date]:
    """The days an offer may not work for a request of this secretariat (besides weekends)."""
    closed = set(offer.unavailable_dates or [])
    if days_off:
        closed |= days_off.get(request_secretariat, frozenset())
        closed |= days_off.get(offer.secretariat_code, frozenset())
    return frozenset(closed)


async def _check(
    session: AsyncSession,
    wanted: dict[Pair, ProposalIn],
    offer_rows: dict[uuid.UUID, CapacityOffer],
    request_rows: dict[uuid.UUID, WorkloadRequest],
    working_weekdays: frozenset[int] | None,
    days_off: Mapping[str, frozenset[date]] | None = None,
) -> None:
    """ProposalsRejected unless every proposal is eligible and the set fits every limit."""
    offer_ids = {o for _, o in wanted}
    request_ids = {r for r, _ in wanted}
    banned = await repo.banned_pairs(session)
    day_use = await repo.accepted_by_offer_day(session, offer_ids)
    offer_use = await repo.accepted_by_offer(session, offer_ids)
    request_use = await repo.accepted_by_request(session, request_ids)
    weekdays = working_weekdays if working_weekdays is not None else frozenset(range(7))
    # Terms are worked out once per request and per offer, closed days once per offer and
    # requesting secretariat: a run proposes each offer to many requests.
    request_terms: dict[uuid.UUID, rules.Terms] = {}
    offer_terms: dict[uuid.UUID, rules.Terms] = {}
    closed_days: dict[tuple[uuid.UUID, str], frozenset[date]] = {}
    for pair, p in wanted.items():
        request, offer = request_rows.get(p.request_id), offer_rows.get(p.offer_id)
        if request is None or offer is None:
            raise _reject(pair, "no such request or offer")
        if request.status in ("cancelled", "expired"):
            raise _reject(pair, f"the request is {request.status}")
        if offer.status != "active":
            raise _reject(pair, "the offer was withdrawn")
        r = request_terms.get(p.request_id)
        if r is None:
            r = request_terms[p.request_id] = rules.request_terms(request)
        o = offer_terms.get(p.offer_id)
        if o is None:
            o = offer_terms[p.offer_id] = rules.offer_terms(offer)
        why = rules.why_not(r, o)
        if why is None and rules.is_travel(r, o) != p.travel:
            why = "the travel flag does not match the places"
        if why is None and pair in banned:
            why = "the pair was declined"
        if why is not None:
            raise _reject(pair, why)
        closed = closed_days.get((p.offer_id, request.secretariat_code))
        if closed is None:
            closed = closed_days[(p.offer_id, request.secretariat_code)] = _closed(
                offer, request.secretariat_code, days_off
            )
        outside = rules.outside_windows(r, o, [d for d, _ in p.days], weekdays, closed)
        if outside:
            raise _reject(pair, f"{outside[0].isoformat()} is outside the common working days")
        for day, hours in p.days:
            day_use[(p.offer_id, day)] = day_use.get((p.offer_id, day), 0) + hours
        offer_use[p.offer_id] = offer_use.get(p.offer_id, 0) + p.hours
        request_use[p.request_id] = request_use.get(p.request_id, 0) + p.hours
    for (offer_id, day), hours in day_use.items():
        if offer_id in offer_ids and hours > offer_rows[offer_id].hours_per_day:
            raise ProposalsRejected(
                f"Offer {offer_id} would give {hours} hours on {day.isoformat()}, "
                f"over its {offer_rows[offer_id].hours_per_day} hours per day."
            )
    for offer_id in offer_ids:
        if offer_use[offer_id] > offer_rows[offer_id].total_hours:
            raise ProposalsRejected(
                f"Offer {offer_id} would give {offer_use[offer_id]} hours, "
                f"over its {offer_rows[offer_id].total_hours} hours in total."
            )
    for request_id in request_ids:
        if request_use[request_id] > request_rows[request_id].hours:
            raise ProposalsRejected(
                f"Request {request_id} would get {request_use[request_id]} hours, "
                f"over the {request_rows[request_id].hours} hours it asks for."
            )


def _same(proposed: Proposed, p: ProposalIn) -> bool:
    # Both schedules are sorted by day (`lock_proposed`, `_shape`).
    return proposed.hours == p.hours and proposed.travel == p.travel and proposed.days == p.days


async def _insert(
    session: AsyncSession, run_id: uuid.UUID | None, new: list[ProposalIn], actor: str
) -> list[uuid.UUID]:
    """Insert new proposals, each with its change, history entry and event; their ids."""
    shown = await repo.insert_proposed(
        session, run_id, ((p.request_id, p.offer_id, p.hours, p.travel, p.days) for p in new)
    )
    for allocation in shown:
        await changes.record(session, "allocation", allocation["id"], "create", 1, allocation)
        await history.record(
            session,
            "allocation",
            allocation["id"],
            1,
            "proposed",
            actor,
            history.diff(None, allocation),
        )
        await events.emit(session, "allocation.proposed", allocation)
    return [a["id"] for a in shown]


async def _change(
    session: AsyncSession,
    allocation: Allocation,
    run_id: uuid.UUID | None,
    p: ProposalIn,
    actor: str,
    why: str,
) -> None:
    """Give a proposal the run's new hours and days in place (its id stays)."""
    before = repo.to_api(allocation)
    new_days = dict(p.days)
    for existing in list(allocation.days):
        if existing.day not in new_days:
            allocation.days.remove(existing)
        elif existing.hours != new_days[existing.day]:
            existing.hours = new_days[existing.day]
    known = {d.day for d in allocation.days}
    for day, hours in sorted(p.days):
        if day not in known:
            allocation.days.append(AllocationDay(day=day, hours=hours))
    allocation.hours = p.hours
    allocation.travel = p.travel
    allocation.matching_run_id = run_id
    allocation.version += 1
    allocation.updated_at = datetime.now(UTC)
    await session.flush()
    after = repo.to_api(allocation)
    await changes.record(session, "allocation", allocation.id, "update", allocation.version, after)
    await history.record(
        session,
        "allocation",
        allocation.id,
        allocation.version,
        "reproposed",
        actor,
        history.diff(before, after),
        why,
    )


def _ids(values: Iterable[uuid.UUID]) -> list[uuid.UUID]:
    return sorted(set(values))


async def apply_proposals(
    session: AsyncSession,
    run_id: uuid.UUID | None,
    proposals: Sequence[ProposalLike],
    *,
    actor: str = history.MATCHING_ACTOR,
    working_weekdays: frozenset[int] | None = None,
    days_off: Mapping[str, frozenset[date]] | None = None,
) -> ProposalDiff:
    """Replace every proposed allocation by `proposals`, in the caller's transaction.

    A proposal identical to one in force (same pair, hours, days and travel) keeps its id
    and version; one for a pair already proposed with other hours or days is changed in
    place (new version, history `reproposed`); proposals in force that the run no longer
    makes are removed (history `dropped`, change feed `delete`); the others are inserted
    (history `proposed`, event `allocation.proposed`). The figures of every request and
    offer touched follow. Raises ProposalsRejected (nothing written) when the set does not
    fit the current data, ValueError when a proposal is malformed. `working_weekdays` and
    each secretariat's `days_off`, when given, are checked too (and every offer's
    unavailable dates, always).
    """
    wanted = _shape(proposals)
    why = f"matching run {run_id}" if run_id else "matching"
    in_force_requests, in_force_offers = await repo.parties_of_live(session, statuses=("proposed",))
    offer_rows = await offers.lock(session, in_force_offers | {o for _, o in wanted})
    request_rows = await requests.lock(session, in_force_requests | {r for r, _ in wanted})
    current = await repo.lock_proposed(session)
    if any(a.offer_id not in offer_rows or a.request_id not in request_rows for a in current):
        raise ProposalsRejected("The proposals in force changed while writing: run again.")
    await _check(session, wanted, offer_rows, request_rows, working_weekdays, days_off)

    # Every change, history entry and event below goes in with one statement per kind.
    async with changes.deferred(session):
        return await _write(session, run_id, wanted, current, offer_rows, request_rows, actor, why)


async def _write(
    session: AsyncSession,
    run_id: uuid.UUID | None,
    wanted: dict[Pair, ProposalIn],
    current: Sequence[Proposed],
    offer_rows: dict[uuid.UUID, CapacityOffer],
    request_rows: dict[uuid.UUID, WorkloadRequest],
    actor: str,
    why: str,
) -> ProposalDiff:
    diff = ProposalDiff()
    touched_offers: set[uuid.UUID] = set()
    touched_requests: set[uuid.UUID] = set()
    in_force: dict[Pair, Proposed] = {(a.request_id, a.offer_id): a for a in current}
    # Only the proposals the run changes or drops are loaded as objects (in id order, as
    # they were locked); a kept one costs no statement.
    kept = {a.id for pair, a in in_force.items() if pair in wanted and _same(a, wanted[pair])}
    diff.kept = [a.id for a in current if a.id in kept]
    objects = await repo.live(
        session, statuses=("proposed",), ids=[a.id for a in current if a.id not in kept]
    )
    for allocation in objects:
        pair = (allocation.request_id, allocation.offer_id)
        p = wanted.get(pair)
        touched_requests.add(pair[0])
        touched_offers.add(pair[1])
        if p is None:
            diff.dropped.append(ProposalChange(allocation.id, *pair, 0, allocation.hours))
            await drop(session, allocation, actor, why)
        else:
            diff.changed.append(ProposalChange(allocation.id, *pair, p.hours, allocation.hours))
            await _change(session, allocation, run_id, p, actor, why)
    new = [
        p
        for pair, p in sorted(wanted.items(), key=lambda item: (str(item[0][0]), str(item[0][1])))
        if pair not in in_force
    ]
    for p, allocation_id in zip(new, await _insert(session, run_id, new, actor), strict=True):
        touched_requests.add(p.request_id)
        touched_offers.add(p.offer_id)
        diff.added.append(ProposalChange(allocation_id, p.request_id, p.offer_id, p.hours, 0))

    offer_hours = await repo.figures_by_offer(session, touched_offers)
    for offer_id in _ids(touched_offers):
        await figures.update_offer(
            session, offer_rows[offer_id], actor=actor, reason=why, hours=offer_hours[offer_id]
        )
    request_hours = await repo.figures_by_request(session, touched_requests)
    for request_id in _ids(touched_requests):
        await figures.update_request(
            session,
            request_rows[request_id],
            actor=actor,
            reason=why,
            hours=request_hours[request_id],
        )
    return diff


__all__ = [
    "ProposalChange",
    "ProposalDiff",
    "ProposalIn",
    "ProposalLike",
    "ProposalsRejected",
    "apply_proposals",
]
