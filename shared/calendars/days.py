"""Working days of a secretariat: pure rules, no I/O.

A day is a working day of a secretariat when its weekday is one of the deployment's working
weekdays (``WORKING_DAYS``), it is not a public holiday of the secretariat's duty station (the
``holidays`` library, for the station's country and subdivision) and it is not one of the
secretariat's closure days. A non-working day has one reason, the first that applies in that
order: weekend, public holiday, closure.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from typing import Final

WEEKEND: Final = "weekend"
PUBLIC_HOLIDAY: Final = "public_holiday"
CLOSURE: Final = "closure"


@dataclass(frozen=True, slots=True)
class Place:
    """Where a duty station keeps its public holidays."""

    country: str
    subdivision: str | None = None


@dataclass(frozen=True, slots=True)
class DayOff:
    """A weekday on which a secretariat does not work, and why."""

    reason: str
    """``public_holiday`` or ``closure``."""
    name: str


def supported(country: str, subdivision: str | None) -> str | None:
    """None when the holidays library knows the country (and subdivision); else what is wrong."""
    import holidays

    countries = holidays.list_supported_countries()
    if country not in countries:
        return f"no public holidays are known for country {country}"
    if subdivision is not None and subdivision not in countries[country]:
        return (
            f"{country} has no subdivision {subdivision} (known: {', '.join(countries[country])})"
        )
    return None


@lru_cache(maxsize=256)
def _holidays_of_year(
    country: str, subdivision: str | None, year: int
) -> tuple[tuple[date, str], ...]:
    import holidays

    table = holidays.country_holidays(country, subdiv=subdivision, years=[year])
    return tuple(sorted(table.items()))


def public_holidays(place: Place, start: date, end: date) -> dict[date, str]:
    """The public holidays of `place` from `start` to `end` (inclusive), with their names."""
    out: dict[date, str] = {}
    for year in range(start.year, end.year + 1):
        for day, name in _holidays_of_year(place.country, place.subdivision, year):
            if start <= day <= end:
                out[day] = name
    return out


def days_off(
    place: Place | None,
    closures: Mapping[date, str],
    weekdays: frozenset[int],
    start: date,
    end: date,
) -> dict[date, DayOff]:
    """The working weekdays from `start` to `end` that are holidays or closures, with why."""
    hols = public_holidays(place, start, end) if place is not None else {}
    out: dict[date, DayOff] = {}
    for day, name in hols.items():
        if day.weekday() in weekdays:
            out[day] = DayOff(PUBLIC_HOLIDAY, name)
    for day, reason in closures.items():
        if start <= day <= end and day.weekday() in weekdays and day not in out:
            out[day] = DayOff(CLOSURE, reason)
    return out


def each_day(start: date, end: date) -> list[date]:
    """Every day from `start` to `end`, both inclusive."""
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]
