"""GET /dashboard: the built-in page a coordinator opens in a browser (no key to load it; the
page asks for one and reads the stats endpoints with it)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from pathlib import Path

from fastapi import APIRouter, Query, Request
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.responses import Response

from services.api.dashboard import i18n

HERE = Path(__file__).resolve().parent.parent / "dashboard"
STATIC = HERE / "static"

router = APIRouter(tags=["dashboard"], include_in_schema=False)
templates = Jinja2Templates(directory=HERE / "templates")
static_files = StaticFiles(directory=STATIC)

# Only this origin: no script, style, font or image from anywhere else, no framing, and the
# key the page holds can only be sent back to this API.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-cache",
}


@dataclass(frozen=True, slots=True)
class Panel:
    """One card of the board: its element id (the script fills `#<id> .body`), its title (a
    msgid of the catalogues) and whether it spans the whole width."""

    id: str
    title: str
    wide: bool = False


# The cards under the filters, in page order. A new panel is one entry here and one render
# function in dashboard.js.
PANELS = [
    Panel("workload", "Hours requested, proposed and accepted per week", wide=True),
    Panel("decisions", "Open requests needing a decision"),
    Panel("exchange", "Exchange balance"),
    Panel("next-meeting", "The next meeting: support and joint activities"),
    Panel("activities", "Joint activities by theme and status"),
    Panel("capacity", "Capacity offered and used"),
    Panel("unmet-skills", "Skills most missing"),
    Panel("discrepancies", "Appendices and names: where the conventions differ"),
    Panel("shortfall", "Expected shortfall around the next meetings", wide=True),
]

# What the weekly chart shows when the page opens: the recent past and the coming months.
WEEKS_BEFORE = 4
WEEKS_AFTER = 16


@cache
def asset_version(name: str) -> str:
    """A short hash of a static file, so browsers refetch it when it changes."""
    return hashlib.sha256((STATIC / name).read_bytes()).hexdigest()[:12]


def default_range(today: date) -> tuple[date, date]:
    """From the Monday WEEKS_BEFORE weeks back to the Sunday WEEKS_AFTER weeks ahead."""
    monday = today - timedelta(days=today.weekday())
    return monday - timedelta(weeks=WEEKS_BEFORE), monday + timedelta(weeks=WEEKS_AFTER, days=6)


@router.get("/dashboard")
async def dashboard(request: Request, lang: str | None = Query(default=None)) -> Response:
    """The dashboard page, in the language asked for (`?lang=`) or the browser's."""
    today = date.today()
    start, end = default_range(today)
    language = i18n.choose_language(lang, request.headers.get("accept-language"))
    return templates.TemplateResponse(
        request,
        "dashboard.html",
        {
            "lang": language,
            "languages": i18n.LANGUAGES,
            "panels": PANELS,
            "_": i18n.translator(language),
            "messages": i18n.catalogue(language),
            "today_long": i18n.long_date(today, language),
            "today": today.isoformat(),
            "default_from": start.isoformat(),
            "default_to": end.isoformat(),
            "css_version": asset_version("dashboard.css"),
            "js_version": asset_version("dashboard.js"),
        },
        headers={**SECURITY_HEADERS, "Content-Language": language, "Vary": "Accept-Language"},
    )
