"""Calendar rules: duty stations, closures, and each secretariat's working days."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from shared.calendars import days, repository
from shared.calendars.schemas import (
    CalendarDay,
    CalendarRead,
    ClosureCreate,
    ClosureRead,
    DutyStationRead,
    DutyStationWrite,
)
from shared.errors import Conflict, NotFound, Unprocessable
from shared.matching.triggers import trigger
from shared.policy import Principal, require_own_secretariat, require_scope

# A calendar answer covers at most this many days (two years and a leap day).
MAX_CALENDAR_DAYS = 731


async def list_duty_stations(session: AsyncSession) -> list[DutyStationRead]:
    """Every duty station's country and subdivision."""
    return await repository.duty_stations(session)


async def put_duty_station(
    session: AsyncSession, locode: str, data: DutyStationWrite
) -> tuple[DutyStationRead, bool]:
    """Set where `locode` keeps its public holidays; True when the mapping is new.

    A change moves the holidays of every secretariat at that station: matching runs again."""
    problem = days.supported(data.country, data.subdivision)
    if problem is not None:
        field = "subdivision" if "subdivision" in problem else "country"
        raise Unprocessable(
            f"Unknown place: {problem}.",
            errors=[{"field": f"body.{field}", "message": problem, "type": "unknown"}],
        )
    before = await repository.duty_station(session, locode)
    await repository.upsert_duty_station(session, locode, data.country, data.subdivision)
    after = DutyStationRead(locode=locode, country=data.country, subdivision=data.subdivision)
    if before != after and await repository.secretariats_at(session, locode):
        await trigger(session, f"duty_station.changed {locode}")
    return after, before is None


def _may_manage(principal: Principal, code: str) -> None:
    """A secretariat manages its own closures (a key of it with `write`), or an admin does."""
    require_scope(principal, "write")
    require_own_secretariat(principal, code, f"manage the closures of {code}")


async def _known(session: AsyncSession, code: str) -> None:
    if not await repository.secretariat_exists(session, code):
        raise NotFound(f"No secretariat {code}.")


async def list_closures(session: AsyncSession, code: str) -> list[ClosureRead]:
    """A secretariat's closure days, by date."""
    await _known(session, code)
    return await repository.closure_list(session, code)


async def add_closure(
    session: AsyncSession, principal: Principal, code: str, data: ClosureCreate
) -> ClosureRead:
    """Record a closure day (409 if that day is one already); matching runs again."""
    _may_manage(principal, code)
    await _known(session, code)
    if not await repository.add_closure(session, code, data.date, data.reason):
        raise Conflict(f"{data.date.isoformat()} is already a closure day of {code}.")
    await trigger(session, f"closure.added {code} {data.date.isoformat()}")
    return ClosureRead(date=data.date, reason=data.reason)


async def remove_closure(session: AsyncSession, principal: Principal, code: str, day: date) -> None:
    """Remove a closure day (404 if there is none); matching runs again."""
    _may_manage(principal, code)
    await _known(session, code)
    if not await repository.remove_closure(session, code, day):
        raise NotFound(f"{day.isoformat()} is not a closure day of {code}.")
    await trigger(session, f"closure.removed {code} {day.isoformat()}")


async def days_off(
    session: AsyncSession,
    codes: Iterable[str],
    weekdays: frozenset[int],
    start: date,
    end: date,
) -> dict[str, dict[date, days.DayOff]]:
    """Each secretariat's holidays and closures on working weekdays from `start` to `end`."""
    wanted = sorted(set(codes))
    if not wanted or end < start:
        return {code: {} for code in wanted}
    stations = await repository.secretariat_stations(session, wanted)
    closed = await repository.closures(session, wanted, start, end)
    out: dict[str, dict[date, days.DayOff]] = {}
    for code in wanted:
        station = stations.get(code, ("", None))[1]
        place = days.Place(station.country, station.subdivision) if station else None
        out[code] = days.days_off(place, closed.get(code, {}), weekdays, start, end)
    return out


async def calendar(
    session: AsyncSession, code: str, weekdays: frozenset[int], start: date, end: date
) -> CalendarRead:
    """Every day from `start` to `end`: working or not, and why not."""
    if end < start:
        raise Unprocessable(
            "`to` must not be before `from`.",
            errors=[{"field": "query.to", "message": "must not be before from", "type": "range"}],
        )
    if (end - start).days + 1 > MAX_CALENDAR_DAYS:
        raise Unprocessable(
            f"A calendar covers at most {MAX_CALENDAR_DAYS} days.",
            errors=[
                {
                    "field": "query.to",
                    "message": f"at most {MAX_CALENDAR_DAYS} days after from",
                    "type": "range",
                }
            ],
        )
    stations = await repository.secretariat_stations(session, [code])
    if code not in stations:
        raise NotFound(f"No secretariat {code}.")
    locode, station = stations[code]
    off = (await days_off(session, [code], weekdays, start, end))[code]
    out: list[CalendarDay] = []
    for day in days.each_day(start, end):
        if day.weekday() not in weekdays:
            out.append(CalendarDay(date=day, working=False, reason="weekend"))
        elif day in off:
            why = off[day]
            out.append(CalendarDay(date=day, working=False, reason=why.reason, name=why.name))
        else:
            out.append(CalendarDay(date=day, working=True, reason=None))
    return CalendarRead(
        secretariat=code,
        duty_station=locode,
        country=station.country if station else None,
        subdivision=station.subdivision if station else None,
        working_days=sum(d.working for d in out),
        days=out,
    )


async def ensure_closures(session: AsyncSession, closures: list[tuple[str, date, str]]) -> int:
    """Record closure days that are not recorded yet (a demo set, an import); matching runs
    again when any was added. Returns how many were added."""
    added = 0
    for code, day, reason in closures:
        added += await repository.add_closure(session, code, day, reason)
    if added:
        await trigger(session, f"closure.added {added} days")
    return added
