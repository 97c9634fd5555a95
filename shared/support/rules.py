"""The rules of matching.md, each written once: which workload request and capacity offer
may be paired (rules 1 to 5 and the working days), when a pair means travel, and how a
request's status follows its allocations.

Pure: no I/O. The matching engine applies them to its plain data (its vectorised search
for eligible pairs is checked against `eligibility`), the candidates explanation names the
rule a pair breaks with them, and the support services re-check a pair against the rows
with them (`request_terms`, `offer_terms`) when an allocation is accepted, a request or an
offer changes, or a run's proposals are written.

Skill tags compare trimmed and case-insensitively (matching.md), and so do places; what
is written is already trimmed and in one case (the schemas' skill tags and UN/LOCODEs), so
no stored pair's answer depends on it. An on-site request with no place matches
no offer's place (only travel).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Final, Protocol

WORKING_DAYS: Final[frozenset[int]] = frozenset({0, 1, 2, 3, 4})
"""``date.weekday()`` values that are working days unless configured otherwise."""

# Reasons, in the order in which `eligibility` checks the rules of matching.md.
KIND: Final = "kind"
SKILLS: Final = "skills"
SAME_SECRETARIAT: Final = "same_secretariat"
DECLINED: Final = "declined"
LOCATION: Final = "location"
NO_COMMON_WORKING_DAY: Final = "no_common_working_day"
DAYS_OFF: Final = "days_off"
"""The windows share working weekdays, but each is a holiday, closure or unavailable day."""

# Fields whose change can make a pair eligible or not (editing one lifts declines).
REQUEST_ELIGIBILITY_FIELDS = frozenset(
    {"secretariat", "kind", "skills", "on_site", "location", "start_date", "end_date"}
)
OFFER_ELIGIBILITY_FIELDS = frozenset(
    {
        "secretariat",
        "kind",
        "skills",
        "location",
        "travel_ok",
        "start_date",
        "end_date",
        "unavailable_dates",
    }
)
# Fields whose change calls for a new matching run.
REQUEST_MATCHING_FIELDS = REQUEST_ELIGIBILITY_FIELDS | {"hours", "priority"}
OFFER_MATCHING_FIELDS = OFFER_ELIGIBILITY_FIELDS | {"hours_per_day", "total_hours"}


class _Side(Protocol):
    """What the rules read of either side of a pair."""

    @property
    def secretariat(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def skills(self) -> Collection[str]: ...
    @property
    def start(self) -> date: ...
    @property
    def end(self) -> date: ...
    @property
    def location(self) -> str | None: ...


class Demand(_Side, Protocol):
    """What the rules read of a workload request (the engine's `RequestIn` is one)."""

    @property
    def on_site(self) -> bool: ...


class Supply(_Side, Protocol):
    """What the rules read of a capacity offer (the engine's `OfferIn` is one)."""

    @property
    def travel_ok(self) -> bool: ...
    @property
    def unavailable_dates(self) -> Collection[date]: ...


@dataclass(frozen=True, slots=True)
class Terms:
    """A request's or an offer's terms as the rules read them (a `Demand` and a `Supply`)."""

    secretariat: str
    kind: str
    skills: frozenset[str]
    start: date
    end: date
    on_site: bool = False
    location: str | None = None
    travel_ok: bool = False
    unavailable_dates: frozenset[date] = frozenset()


class _Row(Protocol):
    """Either row, or its columns after a change."""

    secretariat_code: str
    kind: str
    skills: list[str]
    location: str | None
    start_date: date
    end_date: date


class RequestRow(_Row, Protocol):
    """A workload request row, or its columns after a change."""

    on_site: bool


class OfferRow(_Row, Protocol):
    """A capacity offer row, or its columns after a change."""

    travel_ok: bool
    unavailable_dates: list[date]


def _terms(row: _Row) -> Terms:
    return Terms(
        secretariat=row.secretariat_code,
        kind=row.kind,
        skills=normalise_skills(row.skills),
        start=row.start_date,
        end=row.end_date,
        location=row.location,
    )


def request_terms(row: RequestRow) -> Terms:
    """A workload request's terms."""
    return replace(_terms(row), on_site=row.on_site)


def offer_terms(row: OfferRow) -> Terms:
    """A capacity offer's terms."""
    unavailable = frozenset(row.unavailable_dates or ())
    return replace(_terms(row), travel_ok=row.travel_ok, unavailable_dates=unavailable)


def normalise_skills(skills: Iterable[str]) -> frozenset[str]:
    """Skill tags as they are compared: trimmed, case-folded, empty tags dropped."""
    out = {s.strip().casefold() for s in skills}
    out.discard("")
    return frozenset(out)


def place(location: str | None) -> str | None:
    """A location as it is compared: trimmed and case-folded; None when unknown."""
    if location is None:
        return None
    return location.strip().casefold() or None


def same_place(a: str | None, b: str | None) -> bool:
    """Whether two locations are the same place; an unknown place matches nothing."""
    pa = place(a)
    return pa is not None and pa == place(b)


def missing_skills(request: Demand, offer: Supply) -> list[str]:
    """The request's skill tags (normalised) that the offer lacks, sorted."""
    return sorted(normalise_skills(request.skills) - normalise_skills(offer.skills))


def is_travel(request: Demand, offer: Supply) -> bool:
    """Whether the offered person would have to travel: on-site request, another place."""
    return request.on_site and not same_place(request.location, offer.location)


def pair_ineligibility(request: Demand, offer: Supply, declined: bool = False) -> str | None:
    """The first of rules 1 to 5 of matching.md that the pair breaks (kind, skills, same
    secretariat, declined before, place), or None; the days are not looked at."""
    if request.kind != offer.kind:
        return KIND
    if not normalise_skills(request.skills) <= normalise_skills(offer.skills):
        return SKILLS
    if request.secretariat == offer.secretariat:
        return SAME_SECRETARIAT
    if declined:
        return DECLINED
    if request.on_site and not (same_place(request.location, offer.location) or offer.travel_ok):
        return LOCATION
    return None


def why_not(request: Demand, offer: Supply) -> str | None:
    """In words, why the pair breaks rule 1, 2, 3 or 5 of matching.md, or None."""
    reason = pair_ineligibility(request, offer)
    if reason == KIND:
        return f"the request is for {request.kind} support, the offer is {offer.kind}"
    if reason == SKILLS:
        return f"the offer lacks the skill(s) {', '.join(missing_skills(request, offer))}"
    if reason == SAME_SECRETARIAT:
        return "the request and the offer belong to the same secretariat"
    if reason == LOCATION:
        return f"the work is on site in {request.location} and the offer does not travel"
    return None


def usable(
    day: date,
    request: Demand,
    offer: Supply,
    working_days: frozenset[int],
    closed: Collection[date] = (),
) -> bool:
    """Whether the pair may work on `day`: in both windows, a working weekday, not `closed`
    (a holiday or closure of either secretariat, an unavailable date of the offer)."""
    return (
        max(request.start, offer.start) <= day <= min(request.end, offer.end)
        and day.weekday() in working_days
        and day not in closed
    )


def outside_windows(
    request: Demand,
    offer: Supply,
    days: Iterable[date],
    working_days: frozenset[int] = WORKING_DAYS,
    closed: Collection[date] = (),
) -> list[date]:
    """Those of `days` that the pair may not work on (see `usable`), sorted."""
    return sorted(d for d in days if not usable(d, request, offer, working_days, closed))


def has_common_working_day(
    request: Demand, offer: Supply, working_days: frozenset[int] = WORKING_DAYS
) -> bool:
    """Whether at least one working day lies in both windows."""
    lo = max(request.start, offer.start)
    hi = min(request.end, offer.end)
    span = (hi - lo).days + 1
    return any((lo + timedelta(days=i)).weekday() in working_days for i in range(min(span, 7)))


def blocked_days(
    request: Demand, offer: Supply, days_off: Mapping[str, frozenset[date]]
) -> dict[date, str]:
    """The days that neither side may work although they are working weekdays: the
    request's secretariat's days off, the offer's secretariat's, the offer's unavailable
    dates; each with whose (``request``, ``offer`` or ``unavailable``), in that order."""
    out: dict[date, str] = {}
    for d in offer.unavailable_dates:
        out[d] = "unavailable"
    for d in days_off.get(offer.secretariat, frozenset()):
        out[d] = "offer"
    for d in days_off.get(request.secretariat, frozenset()):
        out[d] = "request"
    return out


def usable_days(
    request: Demand,
    offer: Supply,
    working_days: frozenset[int] = WORKING_DAYS,
    days_off: Mapping[str, frozenset[date]] | None = None,
) -> list[date]:
    """The days that may carry hours of the pair: in both windows, a working day of both
    secretariats, not an unavailable date of the offer (matching.md, Working days)."""
    lo = max(request.start, offer.start)
    hi = min(request.end, offer.end)
    blocked = blocked_days(request, offer, days_off or {})
    days = (lo + timedelta(days=i) for i in range((hi - lo).days + 1))
    return [d for d in days if usable(d, request, offer, working_days, blocked)]


def eligibility(
    request: Demand,
    offer: Supply,
    declined: bool = False,
    working_days: frozenset[int] = WORKING_DAYS,
    days_off: Mapping[str, frozenset[date]] | None = None,
) -> str | None:
    """The first rule of matching.md that the pair breaks, or None when it is eligible."""
    reason = pair_ineligibility(request, offer, declined)
    if reason is not None:
        return reason
    if not has_common_working_day(request, offer, working_days):
        return NO_COMMON_WORKING_DAY
    if (days_off or offer.unavailable_dates) and not usable_days(
        request, offer, working_days, days_off
    ):
        return DAYS_OFF
    return None


def request_status(current: str, hours: int, proposed: int, accepted: int) -> str:
    """A request's status from its allocations.

    `cancelled` and `expired` are final. Otherwise: `fulfilled` when the accepted hours reach
    the hours asked for; `matched` when accepted and proposed hours together reach them;
    `partially_matched` when some hours are accepted or proposed; `open` when none are.
    """
    if current in ("cancelled", "expired"):
        return current
    if accepted >= hours:
        return "fulfilled"
    if accepted + proposed >= hours:
        return "matched"
    if accepted + proposed > 0:
        return "partially_matched"
    return "open"


def field_names(columns: Iterable[str]) -> set[str]:
    """API field names of changed columns (`secretariat_code` is shown as `secretariat`)."""
    return {"secretariat" if k == "secretariat_code" else k for k in columns}
