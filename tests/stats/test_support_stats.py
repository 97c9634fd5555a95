"""Every support figure of /v1/stats agrees with the same figure recomputed in plain Python
from the raw requests, offers, allocations and allocation days, under many filters."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.factories import Keys
from tests.stats import recompute, scenario
from tests.stats.recompute import Filters


@pytest.fixture
async def support(
    client: httpx.AsyncClient, keys: Keys, session_factory: async_sessionmaker[AsyncSession]
) -> tuple[scenario.Scenario, recompute.Rows]:
    built = await scenario.build(client, session_factory, keys.cites, keys.cms)
    return built, await recompute.fetch(session_factory)


def _filter_sets(monday: Any) -> list[dict[str, str]]:
    """No filter, each filter alone, and combinations whose range edges cut through windows
    (a Wednesday start, a Saturday end) and allocations."""
    day = lambda i: (monday + timedelta(days=i)).isoformat()  # noqa: E731
    return [
        {},
        {"secretariat": "CITES"},
        {"secretariat": "CMS"},
        {"kind": "ict"},
        {"kind": "staff", "secretariat": "CMS"},
        {"from": day(2)},
        {"to": day(12)},
        {"from": day(2), "to": day(19)},
        {"from": day(16), "to": day(23), "kind": "staff"},
        {"from": day(100), "to": day(120)},
    ]


async def _get(client: httpx.AsyncClient, keys: Keys, path: str, **params: Any) -> Any:
    response = await client.get(path, params=params, headers=keys.cites_read)
    assert response.status_code == 200, response.text
    return response.json()


def _approx(figures: dict[str, Any]) -> dict[str, Any]:
    """Spread hours are rounded to 2 decimals by the API."""
    return {
        k: pytest.approx(v, abs=0.006) if k in ("hours_requested", "unmet_hours") else v
        for k, v in figures.items()
    }


async def test_workload_figures_agree_with_the_rows(
    client: httpx.AsyncClient, keys: Keys, support: tuple[scenario.Scenario, recompute.Rows]
) -> None:
    built, rows = support
    for params in _filter_sets(built.monday):
        figures = await _get(client, keys, "/v1/stats/workload", **params)
        expected = recompute.workload(rows, Filters.of(params))
        assert figures["totals"] == _approx(expected["totals"]), params
        assert figures["weeks"] == [_approx(w) for w in expected["weeks"]], params
        assert figures["working_days"] == [1, 2, 3, 4, 5]
        assert figures["filters"]["secretariat"] == params.get("secretariat")


async def test_workload_spreads_requested_hours_over_working_days(
    client: httpx.AsyncClient, keys: Keys, support: tuple[scenario.Scenario, recompute.Rows]
) -> None:
    built, _ = support
    week_5 = (built.monday + timedelta(weeks=4)).isoformat()
    figures = await _get(client, keys, "/v1/stats/workload", kind="ict", secretariat="CITES")
    # R10: 7 hours from a Wednesday to a Saturday, so 7/3 on each of Wednesday to Friday.
    (week,) = [w for w in figures["weeks"] if w["week_start"] == week_5]
    assert week["hours_requested"] == pytest.approx(7.0, abs=0.01)
    # R6 asks for 6 hours on a weekend only: the weekend days carry them.
    weekend = await _get(client, keys, "/v1/stats/workload", kind="staff", secretariat="CITES")
    (week_1,) = [w for w in weekend["weeks"] if w["week_start"] == built.monday.isoformat()]
    assert week_1["hours_requested"] == 6.0
    assert week_1["open_requests"] == 1


async def test_capacity_figures_agree_with_the_rows(
    client: httpx.AsyncClient, keys: Keys, support: tuple[scenario.Scenario, recompute.Rows]
) -> None:
    built, rows = support
    for params in _filter_sets(built.monday):
        figures = await _get(client, keys, "/v1/stats/capacity", **params)
        expected = recompute.capacity(rows, Filters.of(params))
        assert figures["offers"] == expected["offers"], params
        assert figures["by_secretariat"] == expected["by_secretariat"], params
        assert figures["totals"] == expected["totals"], params


async def test_unmet_skills_agree_with_the_rows(
    client: httpx.AsyncClient, keys: Keys, support: tuple[scenario.Scenario, recompute.Rows]
) -> None:
    built, rows = support
    for params in _filter_sets(built.monday):
        for limit, per_skill in [(10, 5), (2, 1), (3, 0)]:
            figures = await _get(
                client,
                keys,
                "/v1/stats/unmet-skills",
                **params,
                limit=limit,
                requests_per_skill=per_skill,
            )
            expected = recompute.unmet_skills(rows, Filters.of(params), limit, per_skill)
            assert figures["skills"] == expected, (params, limit, per_skill)


async def test_exchange_figures_agree_with_the_rows(
    client: httpx.AsyncClient, keys: Keys, support: tuple[scenario.Scenario, recompute.Rows]
) -> None:
    built, rows = support
    for params in _filter_sets(built.monday):
        figures = await _get(client, keys, "/v1/stats/exchange", **params)
        expected = recompute.exchange(rows, Filters.of(params))
        assert figures["pairs"] == expected["pairs"], params
        assert figures["by_secretariat"] == expected["by_secretariat"], params
        assert figures["totals"] == expected["totals"], params


async def test_exchange_shows_who_helped_whom_and_how(
    client: httpx.AsyncClient, keys: Keys, support: tuple[scenario.Scenario, recompute.Rows]
) -> None:
    figures = await _get(client, keys, "/v1/stats/exchange")
    balance = {b["secretariat"]: b for b in figures["by_secretariat"]}
    # CMS gave R1 30 h (travel to Geneva); R8's 12 h were cancelled with the request.
    # CITES gave R3 40 h and R5 10 h, remotely; R2's 20 h are still proposed.
    assert balance["CMS"]["hours_given"] == 30 and balance["CMS"]["hours_received"] == 50
    assert balance["CITES"]["balance"] == 20
    assert balance["CMS"]["hours_proposed_to_give"] == 20
    assert figures["totals"]["travel_hours"] == 30
    assert figures["totals"]["remote_share"] == round(50 / 80, 4)


async def test_meeting_figures_agree_with_the_rows(
    client: httpx.AsyncClient, keys: Keys, support: tuple[scenario.Scenario, recompute.Rows]
) -> None:
    built, rows = support
    for code in built.meetings:
        for params in _filter_sets(built.monday):
            figures = await _get(client, keys, f"/v1/stats/meetings/{code}", **params)
            expected = recompute.meeting(rows, code, Filters.of(params))
            assert figures["meeting"]["code"] == code
            assert figures["support"] == expected["support"], (code, params)
            assert figures["activities"] == expected["activities"], (code, params)


async def test_meeting_support_names_the_helpers(
    client: httpx.AsyncClient, keys: Keys, support: tuple[scenario.Scenario, recompute.Rows]
) -> None:
    figures = await _get(client, keys, "/v1/stats/meetings/CITES SC99")
    by_title = {r["title"]: r for r in figures["support"]["requests"]}
    assert set(by_title) == {"Request R1", "Request R2", "Request R8"}
    (helper,) = by_title["Request R1"]["helpers"]
    assert (helper["secretariat"], helper["status"], helper["mode"]) == (
        "CMS",
        "accepted",
        "travel",
    )
    assert (
        by_title["Request R8"]["status"] == "cancelled" and by_title["Request R8"]["helpers"] == []
    )
    assert figures["support"]["totals"]["by_status"] == {
        "partially_matched": 2,
        "cancelled": 1,
    }
    assert [t["theme"] for t in figures["activities"]["by_theme"]] == [
        "species",
        "listings_nomenclature",
    ]


async def test_unknown_meeting_is_404(client: httpx.AsyncClient, keys: Keys) -> None:
    response = await client.get("/v1/stats/meetings/CITES SC1", headers=keys.cites_read)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    "path", ["workload", "capacity", "unmet-skills", "exchange", "meetings/CITES SC1"]
)
async def test_bad_filters_are_refused(client: httpx.AsyncClient, keys: Keys, path: str) -> None:
    for params, field in [
        ({"from": "2027-02-01", "to": "2027-01-01"}, "query.to"),
        ({"kind": "catering"}, "query.kind"),
        ({"from": "01/02/2027"}, "query.from"),
        ({"secretariat": "cites"}, "query.secretariat"),
    ]:
        response = await client.get(f"/v1/stats/{path}", params=params, headers=keys.cms)
        assert response.status_code == 422, (path, params, response.text)
        assert field in [e["field"] for e in response.json()["errors"]], (path, params)
    misspelt = await client.get(f"/v1/stats/{path}", params={"kinds": "ict"}, headers=keys.cms)
    assert misspelt.status_code == 400
