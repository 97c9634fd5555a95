"""Pure rules of matching.md that the workflow re-checks: eligibility of a pair, the place
rule and travel, the time window, and how a request's status follows its allocations."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import date
from typing import Protocol

WORKING_WEEKDAYS = frozenset({0, 1, 2, 3, 4})

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


class RequestLike(Protocol):
    secretariat_code: str
    kind: str
    skills: list[str]
    on_site: bool
    location: str | None
    start_date: date
    end_date: date


class OfferLike(Protocol):
    secretariat_code: str
    kind: str
    skills: list[str]
    location: str | None
    travel_ok: bool
    start_date: date
    end_date: date


def ineligibility(request: RequestLike, offer: OfferLike) -> str | None:
    """Why the pair cannot be matched by rules 1, 2, 3 and 5 of matching.md, or None."""
    if request.kind != offer.kind:
        return f"the request is for {request.kind} support, the offer is {offer.kind}"
    missing = sorted(set(request.skills) - set(offer.skills))
    if missing:
        return f"the offer lacks the skill(s) {', '.join(missing)}"
    if request.secretariat_code == offer.secretariat_code:
        return "the request and the offer belong to the same secretariat"
    if request.on_site and offer.location != request.location and not offer.travel_ok:
        return f"the work is on site in {request.location} and the offer does not travel"
    return None


def is_travel(request: RequestLike, offer: OfferLike) -> bool:
    """True when the pair is eligible only because the offer is `travel_ok`."""
    return request.on_site and offer.location != request.location


def outside_windows(
    request: RequestLike,
    offer: OfferLike,
    days: Iterable[date],
    working_weekdays: frozenset[int] = WORKING_WEEKDAYS,
    closed: Collection[date] = (),
) -> list[date]:
    """The days that are not usable by the pair: outside either window, not a working
    weekday, or `closed` (a holiday or closure of either side, an unavailable date)."""
    start = max(request.start_date, offer.start_date)
    end = min(request.end_date, offer.end_date)
    return sorted(
        d
        for d in days
        if not start <= d <= end or d.weekday() not in working_weekdays or d in closed
    )


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
