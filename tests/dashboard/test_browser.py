"""The dashboard in a real browser: the real API process on loopback with the demo data,
Debian's chromium driven by Playwright, a key typed in, and every chart and table checked
against the stats endpoints."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections import defaultdict
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Browser, ConsoleMessage, Page
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.api.routers.dashboard import default_range
from shared import demo
from shared.db import session_scope
from tests.factories import make_key

ROOT = Path(__file__).resolve().parents[2]
# Set to a path (e.g. docs/dashboard.png) to keep the screenshot there for the README.
SCREENSHOT_COPY = os.environ.get("DASHBOARD_SCREENSHOT")
PRIORITY = {"critical": 0, "high": 1, "normal": 2, "low": 3}

pytestmark = pytest.mark.slow


@pytest.fixture
async def demo_data(
    session_factory: async_sessionmaker[AsyncSession], live_api: str
) -> dict[str, str]:
    """The demo set, with two of its proposals accepted as the offering secretariats would
    (one after travel, one remote); returns a read-only key of CITES."""
    async with session_scope(session_factory) as session:
        await demo.seed_demo(session)
    admin = await _accepted(
        live_api, await make_key(session_factory, "coordinator", None, ["admin"])
    )
    async with httpx.AsyncClient(base_url=live_api, headers=admin, timeout=10) as client:
        proposals = (await client.get("/v1/allocations", params={"status": "proposed"})).json()
        largest = sorted(proposals["items"], key=lambda a: (-a["hours"], a["id"]))
        # One given after travel, one given remotely.
        chosen = [
            next(a for a in largest if a["travel"]),
            next(a for a in largest if not a["travel"]),
        ]
        for allocation in chosen:
            accepted = await client.post(f"/v1/allocations/{allocation['id']}/accept")
            assert accepted.status_code == 200, accepted.text
    return await _accepted(
        live_api, await make_key(session_factory, "dashboard", "CITES", ["read"])
    )


async def _accepted(live_api: str, headers: dict[str, str]) -> dict[str, str]:
    """The key, once the live API knows it: a key made in the database reaches every API
    process within a second (each reads the set of issued keys again)."""
    async with httpx.AsyncClient(base_url=live_api, headers=headers, timeout=10) as client:
        for _ in range(50):
            if (await client.get("/v1/api-keys/me")).status_code != 401:
                return headers
            await asyncio.sleep(0.1)
    raise AssertionError("the live API did not accept a new key within 5 s")


class PageWatch:
    """Everything a page asked for and complained about."""

    def __init__(self, page: Page, origin: str) -> None:
        self.origin = origin
        self.foreign: list[str] = []
        self.errors: list[str] = []
        page.on("request", self._request)
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))

    def _request(self, request: Any) -> None:
        if not request.url.startswith(self.origin + "/"):
            self.foreign.append(request.url)

    def _console(self, message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            self.errors.append(message.text)


class Api:
    """The endpoints the page reads, read again by the test."""

    def __init__(self, base: str, headers: dict[str, str]) -> None:
        self.base = base
        self.headers = headers

    def get(self, path: str, **params: str) -> Any:
        clean = {k: v for k, v in params.items() if v}
        response = httpx.get(f"{self.base}{path}", params=clean, headers=self.headers, timeout=10)
        assert response.status_code == 200, response.text
        return response.json()


def whole(value: float) -> str:
    """A number as the page writes it: rounded half up, thousands separated."""
    return f"{int(Decimal(str(value)).quantize(Decimal(1), ROUND_HALF_UP)):,}"


async def _wait_until_loaded(page: Page, watch: PageWatch) -> None:
    """Until the page has shown its figures (or said why it could not)."""
    await page.wait_for_function(
        "() => ['ready', 'error'].includes(document.querySelector('#main').dataset.state)",
        timeout=20_000,
    )
    state = await page.locator("#main").get_attribute("data-state")
    status = await page.locator("#status").inner_text()
    assert state == "ready", f"{status} {watch.errors}"


async def _open_with_key(page: Page, watch: PageWatch, base: str, raw_key: str) -> None:
    await page.goto(f"{base}/dashboard")
    key_field = page.get_by_label("API key")
    await key_field.wait_for()
    # The key field has the focus: typing and Enter are enough (keyboard only).
    assert await key_field.evaluate("node => node === document.activeElement")
    await page.keyboard.type(raw_key)
    await page.keyboard.press("Enter")
    await _wait_until_loaded(page, watch)


async def _check_headline(page: Page, workload: Any, exchange: Any) -> None:
    totals = workload["totals"]
    for name, value in [
        ("hours-requested", f"{whole(totals['hours_requested'])} h"),
        ("hours-proposed", f"{whole(totals['hours_proposed'])} h"),
        ("hours-accepted", f"{whole(totals['hours_accepted'])} h"),
        ("unmet-hours", f"{whole(totals['unmet_hours'])} h"),
        ("open-requests", whole(totals["open_requests"])),
    ]:
        assert await page.locator(f'[data-figure="{name}"] .value').inner_text() == value, name
    share = exchange["totals"]["remote_share"]
    expected = "\u2013" if share is None else f"{whole(share * 100)}%"
    assert await page.locator('[data-figure="remote-share"] .value').inner_text() == expected


async def _check_weekly_charts(page: Page, workload: Any, meetings: list[Any]) -> None:
    expected: dict[tuple[str, str], dict[str, float]] = defaultdict(
        lambda: {"requested": 0.0, "proposed": 0.0, "accepted": 0.0}
    )
    for w in workload["weeks"]:
        cell = expected[(w["secretariat"], w["week_start"])]
        cell["requested"] += w["hours_requested"]
        cell["proposed"] += w["hours_proposed"]
        cell["accepted"] += w["hours_accepted"]
    assert expected, "the demo data has support in the dashboard's weeks"
    for (secretariat, week), figures in expected.items():
        for series, value in figures.items():
            bar = page.locator(
                f'#weekly-{secretariat} rect[data-week="{week}"][data-series="{series}"]'
            )
            if value:
                assert float(await bar.get_attribute("data-value") or "nan") == pytest.approx(
                    value
                ), (secretariat, week, series)
            else:
                assert await bar.count() == 0, (secretariat, week, series)
    shown = {s for s, _ in expected}
    assert await page.locator("svg.weekly").count() == len(shown)
    for secretariat in shown:
        for m in meetings:
            marker = page.locator(f'#weekly-{secretariat} g.meeting[data-code="{m["code"]}"]')
            assert await marker.count() == 1, (secretariat, m["code"])
        rows = await page.locator(f'[data-table="weekly-{secretariat}"] tbody tr').count()
        assert rows == sum(1 for s, _ in expected if s == secretariat)


async def _check_decisions(page: Page, open_requests: list[Any], api: Api) -> None:
    ordered = sorted(
        open_requests,
        key=lambda r: (r["start_date"], PRIORITY[r["priority"]], r["title"], r["id"]),
    )
    shown = page.locator("#decisions-table tbody tr")
    assert await shown.count() == min(12, len(ordered)) > 0
    ids = await page.locator("#decisions-table [data-request]").evaluate_all(
        "nodes => nodes.map(n => n.dataset.request)"
    )
    assert ids == [r["id"] for r in ordered[:12]]
    first = await shown.nth(0).locator("td").all_inner_texts()
    r = ordered[0]
    assert first[2:5] == [whole(r["hours"]), whole(r["hours_proposed"]), whole(r["hours_accepted"])]
    # Whose move it is: the offering secretariats of the waiting proposals (the key's own
    # marked), or an offer.
    waiting = 0
    for row, r in enumerate(ordered[:12]):
        cell = (await shown.nth(row).locator("td").last.inner_text()).strip()
        if not r["hours_proposed"]:
            assert cell == "an offer", r["title"]
            continue
        waiting += 1
        proposals = api.get("/v1/allocations", request_id=r["id"], status="proposed")["items"]
        deciders = sorted(
            {api.get(f"/v1/capacity-offers/{a['offer_id']}")["secretariat"] for a in proposals}
        )
        expected = f"a decision by {', '.join(deciders)}, the offering secretariat"
        assert cell == expected + (" (yours)" if "CITES" in deciders else ""), r["title"]
    assert waiting > 0


async def _check_exchange(page: Page, exchange: Any) -> None:
    for b in exchange["by_secretariat"]:
        item = page.locator(f'#balance li[data-secretariat="{b["secretariat"]}"]')
        assert await item.get_attribute("data-balance") == str(b["balance"])
        given = page.locator(
            f'#exchange-chart rect[data-row="{b["secretariat"]}-given"][data-series="given"]'
        )
        if b["hours_given"]:
            assert await given.get_attribute("data-value") == str(b["hours_given"])
    rows = await page.locator("#exchange-table tbody tr").all()
    assert len(rows) == len(exchange["pairs"])
    for row, pair in zip(rows, exchange["pairs"], strict=True):
        cells = [c.strip() for c in await row.locator("th, td").all_text_contents()]
        assert cells == [
            f"{pair['giver']} → {pair['receiver']}",
            *(
                whole(pair[k])
                for k in (
                    "hours_accepted",
                    "hours_proposed",
                    "remote_hours",
                    "on_site_hours",
                    "travel_hours",
                )
            ),
        ]


async def _check_next_meeting(page: Page, meeting: Any) -> None:
    heading = page.locator("#next-meeting-code")
    assert await heading.get_attribute("data-code") == meeting["meeting"]["code"]
    requests = page.locator("#meeting-requests tbody tr")
    assert await requests.count() == len(meeting["support"]["requests"]) > 0
    activities = page.locator("#next-meeting-activities li")
    assert await activities.count() == meeting["activities"]["total"] > 0
    totals = meeting["support"]["totals"]
    text = await page.locator('[data-figure="meeting-support"]').inner_text()
    assert f"{whole(totals['hours_accepted'])} h accepted" in text


async def _check_activities(page: Page, activities: Any) -> None:
    total = page.locator('[data-figure="activities-total"] .value')
    assert await total.inner_text() == str(activities["total"])
    for theme in activities["by_theme"]:
        for status, count in theme["by_status"].items():
            bar = page.locator(
                f'#activities-chart rect[data-row="{theme["theme"]}"][data-series="{status}"]'
            )
            if count:
                assert await bar.get_attribute("data-value") == str(count)
            else:
                assert await bar.count() == 0
        label = page.locator(f'#activities-chart text[data-total="{theme["theme"]}"]')
        assert await label.text_content() == str(theme["activities"])
    species = await page.locator("#species-list li").all_inner_texts()
    assert [s.split(" — ")[0] for s in species] == [s["species"] for s in activities["species"]]


async def _check_capacity_and_skills(page: Page, capacity: Any, unmet: Any) -> None:
    rows = await page.locator("#capacity-table tbody tr").all()
    assert len(rows) == len(capacity["by_secretariat"]) > 0
    for row, s in zip(rows, capacity["by_secretariat"], strict=True):
        cells = [c.strip() for c in await row.locator("th, td").all_text_contents()]
        assert cells[:5] == [
            s["secretariat"],
            whole(s["offers"]),
            whole(s["hours_offered"]),
            whole(s["hours_proposed"]),
            whole(s["hours_accepted"]),
        ]
    skills = await page.locator("#unmet-table [data-skill]").evaluate_all(
        "nodes => nodes.map(n => n.dataset.skill)"
    )
    assert skills == [s["skill"] for s in unmet["skills"]]


async def _check_discrepancies(page: Page, counts: Any) -> None:
    assert counts["total"] > 0
    rows = await page.locator("#discrepancies-table tbody tr").all()
    shown = {}
    for row in rows:
        kind = await row.locator("[data-kind]").get_attribute("data-kind")
        shown[kind] = (await row.locator("td").text_content() or "").strip()
    assert shown == {kind: whole(n) for kind, n in counts["counts"].items()}


async def _check_shortfall(page: Page, shortfall: Any) -> None:
    # The demo's upcoming meetings are expected to need more than is offered for them.
    assert shortfall["total_shortfall"] > 0
    summary = await page.locator("#shortfall-summary").text_content() or ""
    for meeting in shortfall["meetings"]:
        assert meeting["code"] in summary
    assert f"{whole(shortfall['total_shortfall'])} h" in summary
    by_skill: dict[str, float] = {}
    for row in shortfall["items"]:
        key = f"{row['skill']} ({row['kind']})"
        by_skill[key] = by_skill.get(key, 0) + row["shortfall"]
    worst = max(by_skill, key=lambda k: by_skill[k])
    first = page.locator("#shortfall-table tbody tr").first
    cells = [(await c.text_content() or "").strip() for c in await first.locator("th, td").all()]
    assert cells[0] == worst
    assert cells[3] == f"{whole(by_skill[worst])} h"


async def test_dashboard_shows_the_figures_of_the_stats_endpoints(
    live_api: str, demo_data: dict[str, str], browser: Browser, tmp_path: Path
) -> None:
    api = Api(live_api, demo_data)
    raw_key = demo_data["Authorization"].removeprefix("Bearer ")
    today = date.today()
    start, end = default_range(today)
    weeks = {"from": str(start), "to": str(end)}
    workload = api.get("/v1/stats/workload", **weeks)
    exchange = api.get("/v1/stats/exchange", **weeks)
    capacity = api.get("/v1/stats/capacity", **weeks)
    unmet = api.get("/v1/stats/unmet-skills", **weeks, limit="8", requests_per_skill="3")
    activities = api.get("/v1/stats/activities", **weeks)
    meetings = api.get("/v1/meetings", **weeks, status="scheduled", limit="200")["items"]
    upcoming = sorted(
        (m for m in meetings if m["end_date"] >= today.isoformat()),
        key=lambda m: (m["start_date"], m["code"]),
    )
    next_meeting = api.get(f"/v1/stats/meetings/{upcoming[0]['code']}")
    open_requests = [
        r
        for status in ("matched", "partially_matched", "open")
        for r in api.get(
            "/v1/workload-requests", status=status, to=str(end), limit="200", **{"from": str(today)}
        )["items"]
    ]

    context = await browser.new_context(viewport={"width": 1366, "height": 900})
    page = await context.new_page()
    watch = PageWatch(page, live_api)
    await _open_with_key(page, watch, live_api, raw_key)

    # The page opens on the key's own secretariat; "All" shows every secretariat's figures
    # and the address keeps that choice.
    secretariat = page.get_by_label("Secretariat", exact=True)
    assert await secretariat.input_value() == "CITES"
    await _check_headline(
        page,
        api.get("/v1/stats/workload", **weeks, secretariat="CITES"),
        api.get("/v1/stats/exchange", **weeks, secretariat="CITES"),
    )
    await secretariat.select_option("")
    await page.get_by_role("button", name="Show").click()
    await _wait_until_loaded(page, watch)
    assert page.url.endswith("#/?secretariat=all")

    await _check_headline(page, workload, exchange)
    await _check_weekly_charts(page, workload, meetings)
    await _check_decisions(page, open_requests, api)
    await _check_exchange(page, exchange)
    await _check_next_meeting(page, next_meeting)
    await _check_activities(page, activities)
    await _check_capacity_and_skills(page, capacity, unmet)
    await _check_discrepancies(page, api.get("/v1/listings/discrepancies/counts"))
    await _check_shortfall(page, api.get("/v1/forecast/shortfall", **{"from": str(today)}))
    for name in (
        "Hours asked by CITES per week: requested, proposed and accepted",
        "Accepted hours each secretariat gave and received",
        "Joint activities by theme and status",
    ):
        assert await page.get_by_role("img", name=name).count() == 1, name

    # Every control has a name, every chart a title a screen reader announces.
    unnamed = await page.evaluate(
        """() => [...document.querySelectorAll('input, select, button, summary')]
            .filter(n => !(n.labels && n.labels.length) && !n.textContent.trim())
            .map(n => n.outerHTML)"""
    )
    assert unnamed == []
    untitled = await page.evaluate(
        """() => [...document.querySelectorAll('svg.chart')]
            .filter(n => n.getAttribute('role') !== 'img'
                || !document.getElementById(n.getAttribute('aria-labelledby').split(' ')[0]))
            .map(n => n.id)"""
    )
    assert untitled == []

    # axe-core finds no WCAG 2.1 AA violation on the full board.
    axe = await Axe().run(page, options={"runOnly": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]})
    assert axe.violations_count == 0, axe.generate_report()

    await page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)
    if SCREENSHOT_COPY:
        shutil.copyfile(tmp_path / "dashboard.png", ROOT / SCREENSHOT_COPY)

    # The filters: CMS's staff requests only, chosen with the keyboard.
    await page.get_by_label("Secretariat", exact=True).focus()
    await page.keyboard.press("End")
    await page.get_by_label("Kind of support", exact=True).select_option("staff")
    await page.get_by_role("button", name="Show").press("Enter")
    await _wait_until_loaded(page, watch)
    cms_staff = api.get("/v1/stats/workload", **weeks, secretariat="CMS", kind="staff")
    assert await page.get_by_label("Secretariat", exact=True).input_value() == "CMS"
    await _check_headline(
        page, cms_staff, api.get("/v1/stats/exchange", **weeks, secretariat="CMS", kind="staff")
    )
    await _check_weekly_charts(page, cms_staff, meetings)

    # A read-only key changes nothing: no form, no change, cancel or withdraw button.
    assert await page.locator("#mine button:visible").count() == 0

    # Nothing was fetched from anywhere else, and the page raised no error (CSP included).
    assert watch.foreign == []
    assert watch.errors == []

    # The key is kept for this tab only: a reload keeps the board, a new session asks again.
    assert await page.evaluate("() => [sessionStorage.length, localStorage.length]") == [1, 0]
    assert await context.cookies() == []
    await page.reload()
    await _wait_until_loaded(page, watch)
    await context.close()

    fresh = await browser.new_page()
    await fresh.goto(f"{live_api}/dashboard")
    assert await fresh.get_by_label("API key").is_visible()
    assert await fresh.locator("#board").is_hidden()
    await fresh.close()


async def test_a_refused_key_is_said_and_not_kept(
    live_api: str, browser: Browser, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    write_only = await _accepted(
        live_api, await make_key(session_factory, "sync", "CMS", ["write"])
    )
    page = await browser.new_page()
    await page.goto(f"{live_api}/dashboard")
    await page.get_by_label("API key").fill("tdm_not-a-key")
    await page.get_by_role("button", name="Open the dashboard").click()
    await page.get_by_text("unknown or has been revoked").wait_for()
    await page.get_by_label("API key").fill(write_only["Authorization"].removeprefix("Bearer "))
    await page.get_by_role("button", name="Open the dashboard").click()
    await page.get_by_text("lacks the read scope").wait_for()
    assert await page.evaluate("() => sessionStorage.length") == 0
    assert await page.locator("#board").is_hidden()
    await page.close()
