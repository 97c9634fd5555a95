"""GET /dashboard: the built-in page a coordinator opens in a browser (no key to load it; the
page asks for one and reads the stats endpoints with it)."""

from __future__ import annotations

import hashlib
from datetime import date, timedelta
from functools import cache
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.responses import Response

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
async def dashboard(request: Request) -> Response:
    """The dashboard page."""
    today = date.today()
    start, end = default_range(today)
    return templates.TemplateResponse(
        request,
        "dashboard.html",
        {
            "today": today.isoformat(),
            "default_from": start.isoformat(),
            "default_to": end.isoformat(),
            "css_version": asset_version("dashboard.css"),
            "js_version": asset_version("dashboard.js"),
        },
        headers=SECURITY_HEADERS,
    )
