"""Requests, offers and proposals for the support workflow's tests."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

import holidays
import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.db import session_scope
from shared.models import Allocation, CapacityOffer, MatchingRun, WorkloadRequest
from shared.support.allocations.proposals import (
    ProposalDiff,
    ProposalIn,
    ProposalLike,
    apply_proposals,
)


def _holiday_free(start: date) -> bool:
    """No public holiday of Geneva or Bonn from that Monday to its Friday."""
    for country, subdiv in (("CH", "GE"), ("DE", "NW")):
        table = holidays.country_holidays(
            country, subdiv=subdiv, years=[start.year, start.year + 1]
        )
        if any(start + timedelta(days=i) in table for i in range(5)):
            return False
    return True


def monday(weeks_ahead: int = 2) -> date:
    """A Monday at least `weeks_ahead` weeks away whose week holds no public holiday of the
    founding duty stations (so that its five weekdays are working days of both)."""
    today = date.today()
    start = today + timedelta(days=7 * weeks_ahead - today.weekday())
    while not _holiday_free(start):
        start += timedelta(days=7)
    return start


def week(weeks_ahead: int = 2) -> list[date]:
    """The five working days of that week."""
    start = monday(weeks_ahead)
    return [start + timedelta(days=i) for i in range(5)]


def request_body(**overrides: Any) -> dict[str, Any]:
    """CITES asks for registration staff for its Standing Committee in Geneva."""
    days = week()
    body: dict[str, Any] = {
        "secretariat": "CITES",
        "kind": "staff",
        "title": "Registration desk for the Standing Committee",
        "description": "Register participants and hand out badges.",
        "skills": ["registration"],
        "start_date": days[0].isoformat(),
        "end_date": days[-1].isoformat(),
        "hours": 16,
        "priority": "high",
        "on_site": True,
        "location": "CH GVA",
    }
    body.update(overrides)
    return body


def offer_body(**overrides: Any) -> dict[str, Any]:
    """CMS offers a colleague from Bonn who can travel."""
    days = week()
    body: dict[str, Any] = {
        "secretariat": "CMS",
        "kind": "staff",
        "title": "Meeting services assistant",
        "description": "Experienced with registration and documents.",
        "skills": ["registration", "documents"],
        "start_date": days[0].isoformat(),
        "end_date": days[-1].isoformat(),
        "hours_per_day": 8,
        "total_hours": 40,
        "location": "DE BON",
        "travel_ok": True,
    }
    body.update(overrides)
    return body


async def post(
    client: httpx.AsyncClient, path: str, body: dict[str, Any], headers: dict[str, str]
) -> dict[str, Any]:
    response = await client.post(path, json=body, headers=headers)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    return data


def proposal(
    request: dict[str, Any],
    offer: dict[str, Any],
    days: Sequence[tuple[date, int]],
    travel: bool | None = None,
) -> ProposalIn:
    """A proposal for a request and an offer as the API shows them."""
    if travel is None:
        travel = bool(request["on_site"]) and offer["location"] != request["location"]
    return ProposalIn(
        request_id=uuid.UUID(request["id"]),
        offer_id=uuid.UUID(offer["id"]),
        hours=sum(h for _, h in days),
        days=tuple(days),
        travel=travel,
    )


async def propose(
    factory: async_sessionmaker[AsyncSession], proposals: Sequence[ProposalLike]
) -> ProposalDiff:
    """The matching hook's stand-in: one run whose proposals replace those in force."""
    async with session_scope(factory) as session:
        run = MatchingRun(trigger="test", status="running")
        session.add(run)
        await session.flush()
        diff = await apply_proposals(session, run.id, proposals)
        run.status = "succeeded"
        return diff


async def figures_agree(factory: async_sessionmaker[AsyncSession]) -> None:
    """Every request's and offer's stored status and figures match its allocations."""
    async with factory() as session:
        sums = {
            (r, o, s): int(h)
            for r, o, s, h in (
                await session.execute(
                    select(
                        Allocation.request_id,
                        Allocation.offer_id,
                        Allocation.status,
                        func.sum(Allocation.hours),
                    ).group_by(Allocation.request_id, Allocation.offer_id, Allocation.status)
                )
            ).all()
        }

        def total(status: str, request_id: Any = None, offer_id: Any = None) -> int:
            return sum(
                h
                for (r, o, s), h in sums.items()
                if s == status
                and (request_id is None or r == request_id)
                and (offer_id is None or o == offer_id)
            )

        for r in await session.scalars(select(WorkloadRequest)):
            proposed, accepted = total("proposed", r.id), total("accepted", r.id)
            assert (r.hours_proposed, r.hours_accepted) == (proposed, accepted), r.title
            if r.status not in ("cancelled", "expired"):
                expected = (
                    "fulfilled"
                    if accepted >= r.hours
                    else "matched"
                    if accepted + proposed >= r.hours
                    else "partially_matched"
                    if accepted + proposed > 0
                    else "open"
                )
                assert r.status == expected, (r.title, r.status, expected)
        for o in await session.scalars(select(CapacityOffer)):
            proposed, accepted = total("proposed", None, o.id), total("accepted", None, o.id)
            assert (o.hours_proposed, o.hours_accepted) == (proposed, accepted), o.title
