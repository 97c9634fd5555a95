"""The dashboard in a real browser: the real API process on loopback with the demo data,
Debian's chromium driven by Playwright, a key typed in, and the figures checked against the
stats endpoints."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, ConsoleMessage, Page, async_playwright
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.api.routers.dashboard import default_range
from shared import demo
from shared.db import session_scope
from tests.factories import make_key

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ROOT = Path(__file__).resolve().parents[2]
# Set to a path (e.g. docs/dashboard.png) to keep the screenshot there for the README.
SCREENSHOT_COPY = os.environ.get("DASHBOARD_SCREENSHOT")

pytestmark = pytest.mark.slow


@pytest.fixture
def chromium() -> str:
    """Debian's chromium. `make test` and .ci/run install it (.ci/browser-deps), so a missing
    browser fails the test rather than skipping it."""
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: run .ci/browser-deps"
    return CHROMIUM


@pytest.fixture
async def browser(chromium: str) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield launched
        await launched.close()


@pytest.fixture
async def demo_data(session_factory: async_sessionmaker[AsyncSession]) -> None:
    async with session_scope(session_factory) as session:
        await demo.seed_demo(session)


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


def _get(base: str, path: str, headers: dict[str, str], **params: str) -> Any:
    response = httpx.get(f"{base}{path}", params=params, headers=headers, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


async def _wait_until_loaded(page: Page, watch: PageWatch) -> None:
    """Until the page has shown its figures (or said why it could not)."""
    await page.wait_for_function(
        "() => ['ready', 'error'].includes(document.querySelector('#main').dataset.state)",
        timeout=15_000,
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


async def test_dashboard_shows_the_figures_of_the_stats_endpoints(
    live_api: str,
    demo_data: None,
    browser: Browser,
    session_factory: async_sessionmaker[AsyncSession],
    tmp_path: Path,
) -> None:
    headers = await make_key(session_factory, "dashboard", "CITES", ["read"])
    raw_key = headers["Authorization"].removeprefix("Bearer ")
    start, end = default_range(date.today())
    activities = _get(
        live_api, "/v1/stats/activities", headers, **{"from": str(start), "to": str(end)}
    )
    upcoming = sorted(
        (
            m
            for m in _get(live_api, "/v1/meetings", headers, limit="200")["items"]
            if m["start_date"] > date.today().isoformat()
        ),
        key=lambda m: m["start_date"],
    )
    next_meeting = _get(live_api, f"/v1/meetings/{upcoming[0]['code']}/activities", headers)

    context = await browser.new_context(viewport={"width": 1366, "height": 900})
    page = await context.new_page()
    watch = PageWatch(page, live_api)
    await _open_with_key(page, watch, live_api, raw_key)

    # Activities: the headline figures, every bar segment and the table.
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
    assert await page.get_by_role("img", name="Joint activities by theme and status").count() == 1

    # The next meeting and the activities reported to it.
    heading = page.locator("#next-meeting-code")
    assert await heading.get_attribute("data-code") == upcoming[0]["code"]
    shown = await page.locator("#next-meeting-activities li").count()
    assert shown == next_meeting["total"] > 0

    await page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)
    if SCREENSHOT_COPY:
        shutil.copyfile(tmp_path / "dashboard.png", ROOT / SCREENSHOT_COPY)

    # Nothing was fetched from anywhere else, and the page raised no error (CSP included).
    assert watch.foreign == []
    assert watch.errors == []

    # The key is kept for this tab only: a reload keeps the board, a new session asks again.
    stored = await page.evaluate("() => [sessionStorage.length, localStorage.length]")
    assert stored == [1, 0]
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
    write_only = await make_key(session_factory, "sync", "CMS", ["write"])
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
