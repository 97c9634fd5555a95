"""GET /dashboard: a self-contained page, served without a key, that loads nothing from
elsewhere."""

from __future__ import annotations

import re

import httpx

from services.api.routers.dashboard import STATIC

# The SVG namespace is an identifier the script passes to createElementNS, not a fetch.
_ALLOWED_URLS = {"http://www.w3.org/2000/svg"}


async def test_dashboard_page_is_served_with_its_assets(client: httpx.AsyncClient) -> None:
    page = await client.get("/dashboard")

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "connect-src 'self'" in csp
    assert "script-src 'self'" in csp and "unsafe" not in csp
    assets = re.findall(r'(?:src|href)="(/dashboard/static/[^"?]+)\?v=[0-9a-f]{12}"', page.text)
    assert sorted(assets) == [
        "/dashboard/static/dashboard.css",
        "/dashboard/static/dashboard.js",
    ]
    for asset in assets:
        response = await client.get(asset)
        assert response.status_code == 200, asset
    script = await client.get("/dashboard/static/dashboard.js")
    assert script.headers["content-type"].startswith(("text/javascript", "application/javascript"))


async def test_nothing_on_the_page_comes_from_outside_the_machine(
    client: httpx.AsyncClient,
) -> None:
    page = (await client.get("/dashboard")).text
    texts = [page, *(p.read_text() for p in STATIC.iterdir())]
    urls = {
        u
        for text in texts
        for u in re.findall(r"(?:https?:)?//[A-Za-z0-9.-]+\.[a-z]{2,}[^\s\"'`)]*", text)
    }
    assert urls <= _ALLOWED_URLS


async def test_the_page_asks_for_a_key_with_a_labelled_field(client: httpx.AsyncClient) -> None:
    page = (await client.get("/dashboard")).text

    assert '<label for="api-key">' in page
    assert 'id="api-key" name="api-key" type="password" autocomplete="off"' in page
    assert '<html lang="en">' in page
