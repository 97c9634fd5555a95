"""The coordinators' workbench in a real browser: the real API and worker processes, two keys
in two browser contexts, and every action taken through the page as a coordinator would."""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Browser, BrowserContext, Page, expect
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.api.dashboard import i18n
from tests.factories import make_key
from tests.support.factories import week

ROOT = Path(__file__).resolve().parents[2]
# Set to a folder (e.g. docs) to keep the screenshots there for the README.
SCREENSHOTS = os.environ.get("WORKBENCH_SCREENSHOTS")
# The page follows the change feed every 2.5 s; a proposal shows within 5 s of the run on an
# idle machine. The waits below are longer so that a busy machine does not fail the story.
SHOWS_WITHIN_MS = 15_000

pytestmark = pytest.mark.slow


class Story:
    """The API as the test reads it, with the coordinators' keys."""

    def __init__(self, base: str, keys: dict[str, dict[str, str]]) -> None:
        self.base = base
        self.keys = keys

    def call(self, who: str, method: str, path: str, **kwargs: Any) -> Any:
        response = httpx.request(
            method, f"{self.base}{path}", headers=self.keys[who], timeout=10, **kwargs
        )
        assert response.status_code < 300, response.text
        return response.json()

    def raw(self, who: str) -> str:
        return self.keys[who]["Authorization"].removeprefix("Bearer ")

    async def wait_for_run(self) -> None:
        """Until the worker has made its proposals (a run succeeded with nothing pending)."""
        for _ in range(300):
            runs = self.call("admin", "GET", "/v1/matching/runs", params={"limit": 5})["items"]
            proposed = self.call("admin", "GET", "/v1/allocations", params={"status": "proposed"})
            if runs and runs[0]["status"] == "succeeded" and proposed["items"]:
                return
            await asyncio.sleep(0.1)
        raise AssertionError(f"no matching run made proposals: {runs}")


@pytest.fixture
async def story(
    live_api: str,
    session_factory: async_sessionmaker[AsyncSession],
    worker: subprocess.Popen[bytes],
) -> Story:
    keys = {
        "admin": await make_key(session_factory, "admin", None, ["admin"]),
        "cites": await make_key(
            session_factory, "cites-coordinator", "CITES", ["read", "write", "approve"]
        ),
        "cms": await make_key(
            session_factory, "cms-coordinator", "CMS", ["read", "write", "approve"]
        ),
    }
    return Story(live_api, keys)


async def open_workbench(context: BrowserContext, base: str, raw_key: str, lang: str) -> Page:
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda m: errors.append(m.text) if m.type in ("error", "warning") else None)
    await page.goto(f"{base}/dashboard?lang={lang}")
    await page.locator("#api-key").wait_for()
    await page.keyboard.type(raw_key)
    await page.keyboard.press("Enter")
    await page.wait_for_function(
        "() => ['ready', 'error'].includes(document.querySelector('#main').dataset.state)",
        timeout=30_000,
    )
    status = await page.locator("#status").inner_text()
    assert await page.locator("#main").get_attribute("data-state") == "ready", (status, errors)
    page.set_default_timeout(SHOWS_WITHIN_MS)
    return page


async def no_axe_violations(page: Page, view: str) -> None:
    results = await Axe().run(page)
    assert results.violations_count == 0, f"{view}: {results.generate_report()}"


def ict_offer(**overrides: Any) -> dict[str, Any]:
    days = week()
    body = {
        "secretariat": "CITES",
        "kind": "ict",
        "title": "Network engineer, Geneva",
        "skills": ["networking", "video-conferencing"],
        "start_date": days[0].isoformat(),
        "end_date": days[-1].isoformat(),
        "hours_per_day": 8,
        "total_hours": 40,
        "location": "CH GVA",
        "travel_ok": False,
    }
    return {**body, **overrides}


def ict_request(title: str, **overrides: Any) -> dict[str, Any]:
    days = week()
    body = {
        "secretariat": "CMS",
        "kind": "ict",
        "title": title,
        "skills": ["networking"],
        "start_date": days[0].isoformat(),
        "end_date": days[1].isoformat(),
        "hours": 6,
        "priority": "high",
        "on_site": False,
    }
    return {**body, **overrides}


def cms_meeting() -> dict[str, Any]:
    days = week()
    return {
        "code": "CMS StC99",
        "title": "Ninety-ninth meeting of the CMS Standing Committee",
        "secretariat": "CMS",
        "body": "Standing Committee",
        "location": "DE BON",
        "start_date": days[0].isoformat(),
        "end_date": days[4].isoformat(),
    }


async def ask_through_the_form(
    page: Page,
    story: Story,
    _: Callable[..., str],
    title: str,
    start: date,
    end: date,
    *,
    double_click: bool = False,
    bad_hours: bool = False,
) -> dict[str, Any]:
    """CMS fills in the request form; returns the request the API then holds."""
    await page.get_by_role("button", name=_("Ask for support…")).click()
    form = page.locator("#ask-form")
    await expect(form.get_by_label(_("Title"), exact=True)).to_be_focused()
    await form.get_by_label(_("Title"), exact=True).fill(title)
    await form.get_by_label(_("Kind of support"), exact=True).select_option("ict")
    await form.get_by_role("button", name=_("Add the skill {skill}", skill="networking")).click()
    await form.get_by_label(_("From"), exact=True).fill(start.isoformat())
    await form.get_by_label(_("To"), exact=True).fill(end.isoformat())
    hours = form.get_by_label(_("Hours needed"), exact=True)
    await form.get_by_label(_("Priority"), exact=True).select_option("high")
    await form.get_by_label(_("Meeting"), exact=True).select_option("CMS StC99")
    send = form.get_by_role("button", name=_("Send the request"))
    if bad_hours:
        # The browser lets it through; the API refuses it, and says so beside the field.
        await hours.fill("20000")
        await send.click()
        error = form.locator('[data-field="hours"] .field-error')
        await expect(error).to_contain_text("10000")
        await expect(hours).to_have_attribute("aria-invalid", "true")
        await expect(hours).to_be_focused()
        await no_axe_violations(page, "the request form with a field error")
        await shot(page, "workbench-form.png")
    await hours.fill("6")
    if double_click:
        await send.dblclick()
    else:
        await send.click()
    await expect(page.locator("#mine-status")).to_contain_text(title)
    (created,) = [
        r
        for r in story.call("cms", "GET", "/v1/workload-requests", params={"limit": 200})["items"]
        if r["title"] == title
    ]
    assert (created["kind"], created["skills"], created["meeting_code"]) == (
        "ict",
        ["networking"],
        "CMS StC99",
    )
    assert (created["hours"], created["priority"]) == (6, "high")
    return created


async def change_a_request_through_the_form(
    page: Page, story: Story, _: Callable[..., str], request: dict[str, Any]
) -> None:
    """CMS changes a request with the form: a change made meanwhile elsewhere is shown and
    nothing is lost silently; a refused value is said beside its field; then it is saved."""
    item = page.locator(f'#my-requests [data-request="{request["id"]}"]')
    await item.get_by_role("button", name=_("Change…")).click()
    form = page.locator("#edit-request-form")
    title = form.get_by_label(_("Title"), exact=True)
    await expect(title).to_be_focused()
    await expect(title).to_have_value(request["title"])
    await expect(form.get_by_label(_("Hours needed"), exact=True)).to_have_value(
        str(request["hours"])
    )
    await no_axe_violations(page, "the form changing a request")

    # Someone raises its priority while the form is open: saving is refused (412), and the
    # form shows the request as it is now.
    story.call(
        "cms", "PATCH", f"/v1/workload-requests/{request['id']}", json={"priority": "critical"}
    )
    await title.fill("Satellite uplink for the plenary")
    await form.get_by_role("button", name=_("Save the changes")).click()
    await expect(form.locator(".form-error")).to_have_text(
        _(
            "Someone changed this in the meantime: the form now shows the current values. "
            "Check them and save again."
        )
    )
    await expect(form.get_by_label(_("Priority"), exact=True)).to_have_value("critical")
    await expect(title).to_have_value(request["title"])

    await title.fill("Satellite uplink for the plenary")
    hours = form.get_by_label(_("Hours needed"), exact=True)
    await hours.fill("20000")
    await form.get_by_role("button", name=_("Save the changes")).click()
    await expect(form.locator('[data-field="hours"] .field-error')).to_contain_text("10000")
    await expect(hours).to_have_attribute("aria-invalid", "true")
    await hours.fill("4")
    await form.get_by_role("button", name=_("Save the changes")).click()
    await expect(page.locator("#mine-status")).to_have_text(
        _("Changed: {title}.", title="Satellite uplink for the plenary")
    )
    await expect(form).to_have_count(0)
    await expect(item.locator("h4")).to_contain_text("Satellite uplink for the plenary")
    changed = story.call("cms", "GET", f"/v1/workload-requests/{request['id']}")
    assert (changed["title"], changed["hours"], changed["priority"]) == (
        "Satellite uplink for the plenary",
        4,
        "critical",
    )


async def filter_by_meeting(
    page: Page, _: Callable[..., str], linked: dict[str, Any], unlinked: dict[str, Any]
) -> None:
    """The meeting filter narrows the lists to the meeting's requests, and the address keeps
    it: the same link opens the same view."""
    requests = page.locator("#my-requests")
    waiting = page.locator(f'#decisions [data-request="{unlinked["id"]}"]')
    await page.get_by_label(_("Meeting"), exact=True).select_option("CMS StC99")
    await page.locator("#filters").get_by_role("button", name=_("Show")).click()
    await expect(page.locator("#main")).to_have_attribute("data-state", "ready")
    assert page.url.endswith("#/?meeting=CMS+StC99")
    await expect(requests.locator(f'[data-request="{unlinked["id"]}"]')).to_have_count(0)
    await expect(requests.locator(f'[data-request="{linked["id"]}"]')).to_have_count(1)
    await expect(waiting).to_have_count(0)
    await expect(page.locator("#next-meeting-code")).to_have_attribute("data-code", "CMS StC99")
    await no_axe_violations(page, "the lists filtered by meeting")
    await shot(page, "workbench-meeting.png")

    await page.reload()
    await expect(page.locator("#main")).to_have_attribute("data-state", "ready")
    await expect(page.locator("#f-meeting")).to_have_value("CMS StC99")
    await expect(requests.locator(f'[data-request="{linked["id"]}"]')).to_have_count(1)
    await expect(requests.locator(f'[data-request="{unlinked["id"]}"]')).to_have_count(0)

    await page.locator("#f-meeting").select_option("")
    await page.locator("#filters").get_by_role("button", name=_("Show")).click()
    await expect(requests.locator(f'[data-request="{unlinked["id"]}"]')).to_have_count(1)
    await expect(waiting).to_have_count(1)
    assert page.url.endswith("#/")

    # Back and forward move between the two views.
    await page.go_back()
    await expect(page.locator("#f-meeting")).to_have_value("CMS StC99")
    await expect(requests.locator(f'[data-request="{unlinked["id"]}"]')).to_have_count(0)
    await page.go_forward()
    await expect(page.locator("#f-meeting")).to_have_value("")
    await expect(requests.locator(f'[data-request="{unlinked["id"]}"]')).to_have_count(1)


async def shot(page: Page, name: str) -> None:
    """Keep a screenshot of the English page for the README."""
    if SCREENSHOTS and await page.evaluate("document.documentElement.lang") == "en":
        await page.screenshot(path=str(ROOT / SCREENSHOTS / name), full_page=False)


@pytest.mark.parametrize("lang", ["en", "fr", "es"])
async def test_a_proposal_is_decided_in_the_browser_and_the_asker_sees_it(
    story: Story, browser: Browser, lang: str, tmp_path: Path
) -> None:
    _: Callable[..., str] = i18n.translator(lang)
    story.call("cites", "POST", "/v1/capacity-offers", json=ict_offer())

    story.call("cms", "POST", "/v1/meetings", json=cms_meeting())
    cites_context = await browser.new_context(viewport={"width": 1366, "height": 1000})
    cites = await open_workbench(cites_context, story.base, story.raw("cites"), lang)
    cms_context = await browser.new_context(viewport={"width": 1366, "height": 1000})
    cms = await open_workbench(cms_context, story.base, story.raw("cms"), lang)
    await expect(cms.locator("#my-requests")).to_contain_text(_("You have no open request."))
    decisions = cites.locator("#my-decisions")
    await expect(decisions.get_by_text(_("Nothing is waiting for your decision."))).to_be_visible()
    await no_axe_violations(cites, "an empty workbench")

    # CMS asks twice through the form; the worker proposes CITES's offer for both, and the
    # CITES page shows the proposals without a reload.
    first = await ask_through_the_form(
        cms, story, _, "Webcast set-up", week()[0], week()[1], double_click=True
    )
    second = await ask_through_the_form(
        cms, story, _, "Interpretation booth network", week()[2], week()[3], bad_hours=True
    )
    titles = [r["title"] for r in story.call("cms", "GET", "/v1/workload-requests")["items"]]
    assert sorted(titles) == ["Interpretation booth network", "Webcast set-up"]
    # A third request needs a skill nobody offers: it waits, and CMS sees why.
    lonely = story.call(
        "cms",
        "POST",
        "/v1/workload-requests",
        json=ict_request("Satellite uplink", skills=["satellite-uplink"]),
    )
    await story.wait_for_run()
    cards = decisions.locator("li.proposal")
    await expect(cards).to_have_count(2, timeout=SHOWS_WITHIN_MS)
    # Soonest first, with the request, the offer, the days and who decides.
    first_card = cards.nth(0)
    await expect(first_card.get_by_role("heading")).to_contain_text("Webcast set-up")
    await expect(first_card).to_contain_text("CMS")
    await expect(first_card).to_contain_text("Network engineer, Geneva")
    assert await first_card.locator("ol.days li time").count() >= 1
    await expect(first_card).to_contain_text(_("remote"))
    await no_axe_violations(cites, "proposals waiting for a decision")
    await shot(cites, "workbench-decisions.png")

    # Accept the first with the keyboard alone.
    await first_card.get_by_role("button", name=_("Accept"), exact=True).focus()
    await cites.keyboard.press("Enter")
    await expect(decisions.locator("li.proposal")).to_have_count(1)
    await expect(cites.locator("#decision-status")).to_contain_text("Webcast set-up")

    # Decline the second: the reason is required.
    remaining = decisions.locator("li.proposal").first
    await remaining.get_by_role("button", name=_("Decline…")).click()
    reason = remaining.get_by_label(_("Reason for declining (the asking secretariat sees it)"))
    await expect(reason).to_be_focused()
    await remaining.get_by_role("button", name=_("Decline"), exact=True).click()
    await expect(remaining.locator(".error")).to_have_text(_("Say why the proposal is declined."))
    await reason.fill("Our engineer is at the Standing Committee that week.")
    await no_axe_violations(cites, "declining a proposal")
    await cites.keyboard.press("Tab")
    await cites.keyboard.press("Enter")
    await expect(decisions.get_by_text(_("Nothing is waiting for your decision."))).to_be_visible()

    decided = {
        a["request_id"]: a
        for a in story.call("admin", "GET", "/v1/allocations")["items"]
        if a["status"] in ("accepted", "declined")
    }
    assert decided[first["id"]]["status"] == "accepted"
    assert decided[second["id"]]["status"] == "declined"
    assert decided[second["id"]]["reason"] == "Our engineer is at the Standing Committee that week."

    # The asking side sees both decisions without reloading, and why the third waits.
    mine = cms.locator("#my-requests")
    accepted = mine.locator(f'[data-request="{first["id"]}"] [data-status="accepted"]')
    declined = mine.locator(f'[data-request="{second["id"]}"] [data-status="declined"]')
    await expect(accepted).to_have_count(1, timeout=SHOWS_WITHIN_MS)
    await expect(declined).to_contain_text("Standing Committee", timeout=SHOWS_WITHIN_MS)
    why = mine.locator(f'[data-request="{lonely["id"]}"] details.candidates-box')
    await why.locator("summary").click()
    await expect(why.locator('[data-reason="skills"]')).to_contain_text("satellite-uplink")
    await no_axe_violations(cms, "my requests with the candidates explanation")
    await why.scroll_into_view_if_needed()
    await shot(cms, "workbench-candidates.png")

    await change_a_request_through_the_form(cms, story, _, lonely)
    await filter_by_meeting(cms, _, first, lonely)

    # The system's state: the last run with its weight served, and no change left waiting.
    line = cms.locator("#matching-run")
    await expect(line).to_have_attribute("data-pending", "0", timeout=SHOWS_WITHIN_MS)
    await expect(line).to_have_attribute("data-status", "succeeded")
    status = story.call("cms", "GET", "/v1/matching/status")
    assert status["pending_triggers"] == 0
    weight = str(status["last_run"]["figures"]["weight_served"])
    await expect(line).to_have_attribute("data-weight", weight)
    await expect(line.locator('[data-figure="pending-triggers"]')).to_have_text(
        _("No change waits for matching.")
    )

    # Each request has its own panel at a stable address, with its allocations and history.
    await mine.locator(f'[data-request="{first["id"]}"] h4 a').click()
    assert cms.url.endswith(f"#/requests/{first['id']}")
    detail = cms.locator("#detail")
    await expect(detail).to_be_focused()
    await expect(detail.locator("#detail-title")).to_contain_text("Webcast set-up")
    await expect(detail.locator("dl")).to_contain_text(_("Priority"))
    await expect(detail.locator("ol.history")).to_contain_text("cms-coordinator")
    await no_axe_violations(cms, "a request's own panel")
    await detail.locator("ul.plain a").first.click()
    await expect(detail.locator("#detail-title")).to_contain_text(_("Allocation"))
    await expect(detail.locator("ol.history")).to_contain_text(
        f"cites-coordinator · {_('accepted')}"
    )
    await expect(cms.locator("#matching-run")).to_have_attribute("data-status", "succeeded")
    await detail.get_by_role("button", name=_("Close")).click()
    await expect(detail).to_be_hidden()

    # Cancelling a request asks first.
    item = mine.locator(f'[data-request="{lonely["id"]}"]')
    await item.get_by_role("button", name=_("Cancel the request…")).click()
    await expect(item.get_by_role("button", name=_("Yes, cancel it"))).to_be_focused()
    await cms.keyboard.press("Enter")
    await expect(mine.locator(f'[data-request="{lonely["id"]}"]')).to_have_count(0)
    cancelled = story.call("cms", "GET", f"/v1/workload-requests/{lonely['id']}")
    assert cancelled["status"] == "cancelled"

    # CITES renames its offer with the same form.
    (offer,) = story.call("cites", "GET", "/v1/capacity-offers")["items"]
    await (
        cites.locator(f'#my-offers [data-offer="{offer["id"]}"]')
        .get_by_role("button", name=_("Change…"))
        .click()
    )
    form = cites.locator("#edit-offer-form")
    await expect(form.get_by_label(_("Hours in all"), exact=True)).to_have_value("40")
    await form.get_by_label(_("Title"), exact=True).fill("Network engineer, Geneva and Bonn")
    await form.get_by_role("button", name=_("Save the changes")).click()
    await expect(cites.locator(f'#my-offers [data-offer="{offer["id"]}"] h4')).to_contain_text(
        "Network engineer, Geneva and Bonn"
    )
    renamed = story.call("cites", "GET", f"/v1/capacity-offers/{offer['id']}")
    assert (renamed["title"], renamed["total_hours"]) == ("Network engineer, Geneva and Bonn", 40)
    await cites_context.close()
    await cms_context.close()


async def test_a_proposal_decided_elsewhere_is_refused_with_the_apis_sentence(
    story: Story, browser: Browser
) -> None:
    story.call("cites", "POST", "/v1/capacity-offers", json=ict_offer())
    story.call("cms", "POST", "/v1/workload-requests", json=ict_request("Webcast set-up"))
    await story.wait_for_run()
    context = await browser.new_context()
    page = await open_workbench(context, story.base, story.raw("cites"), "en")
    card = page.locator("#my-decisions li.proposal")
    await expect(card).to_have_count(1)
    (proposal,) = story.call("admin", "GET", "/v1/allocations", params={"status": "proposed"})[
        "items"
    ]
    # The proposal's own panel says whose decision it waits for.
    await page.evaluate("id => { window.location.hash = `#/allocations/${id}`; }", proposal["id"])
    await expect(page.locator("#detail .whose")).to_have_text(
        "Waiting for a decision by CITES, the offering secretariat."
    )
    await page.locator("#detail").get_by_role("button", name="Close").click()
    # The page stops following the feed, and someone else accepts meanwhile.
    await page.route("**/v1/changes**", lambda route: route.abort())
    story.call("cites", "POST", f"/v1/allocations/{proposal['id']}/accept")

    await card.get_by_role("button", name="Accept", exact=True).click()
    alert = page.locator("#decision-error")
    await expect(alert).to_contain_text("Someone has already decided on this proposal")
    await expect(alert).to_contain_text("is accepted")
    await expect(card).to_have_count(0)
    await context.close()
