"""The fast paths (services/api/fastpath.py) answer exactly as the FastAPI routes they shadow.

Every request below goes to two apps on the same database: the API as it runs, and the same
API with its fast paths off, so that FastAPI's routes answer everything. Status, headers and
body must be the same (a created activity's id and times aside), and the API's counter of
fast-path answers says which requests the fast paths answered themselves.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from services.api.main import create_app
from shared.config import Settings
from tests.factories import Keys, activity_body, create, meeting_body

# Headers that differ between any two answers.
_VOLATILE = {"x-request-id", "date"}


@pytest.fixture
async def plain(settings: Settings, app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the same API with its fast paths off."""
    application = create_app(settings, fast_paths=False)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://tandem.test") as c:
            yield c


def _answered(app: FastAPI) -> dict[str, float]:
    registry: CollectorRegistry = app.state.metrics.registry
    return {
        sample.labels["operation"]: sample.value
        for metric in registry.collect()
        if metric.name == "tandem_http_fast_path_requests"
        for sample in metric.samples
        if sample.name.endswith("_total")
    }


def _answer(response: httpx.Response, created: str | None = None) -> dict[str, Any]:
    """What a client sees; a created activity's id and times replaced by placeholders."""
    headers = {k: v for k, v in response.headers.items() if k not in _VOLATILE}
    body: Any = response.content
    if response.headers.get("content-type", "").endswith("json") and body:
        body = orjson.loads(body)
    if created is not None and response.status_code == 201:
        assert body["created_at"] == body["updated_at"]
        body = {**body, "id": "<id>", "created_at": "<now>", "updated_at": "<now>"}
        headers["location"] = headers["location"].replace(created, "<id>")
        headers["content-length"] = "<length>"
    return {"status": response.status_code, "headers": headers, "body": body}


async def _same(
    client: httpx.AsyncClient,
    plain: httpx.AsyncClient,
    method: str,
    url: str,
    headers: dict[str, str],
    **kwargs: Any,
) -> httpx.Response:
    fast = await client.request(method, url, headers=headers, **kwargs)
    slow = await plain.request(method, url, headers=headers, **kwargs)
    created = fast.json()["id"] if fast.status_code == 201 else None
    slow_created = slow.json()["id"] if slow.status_code == 201 else None
    assert _answer(fast, created) == _answer(slow, slow_created), (method, url, kwargs)
    return fast


async def test_reads_answer_as_the_routes_do(
    app: FastAPI, client: httpx.AsyncClient, plain: httpx.AsyncClient, keys: Keys
) -> None:
    await create(client, "/v1/meetings", meeting_body(code="CITES SC99"), keys.cites)
    # One more than the default page holds.
    shown = [
        await create(
            plain,
            "/v1/activities",
            activity_body(title=f"Activity {n}", meeting_codes=["CITES SC99"] if n % 2 else []),
            keys.cms,
        )
        for n in range(51)
    ]
    one = shown[2]["id"]
    first_page = (await client.get("/v1/activities?limit=2", headers=keys.cites_read)).json()
    cursor = first_page["next_cursor"]
    assert cursor and len(first_page["items"]) == 2
    fast_gets = [
        (f"/v1/activities/{one}", {}),
        (f"/v1/activities/{one.upper()}", {}),
        (f"/v1/activities/{uuid.uuid4()}", {}),  # 404
        (f"/v1/activities/{one}", {"If-None-Match": '"1"'}),  # 304
        (f"/v1/activities/{one}", {"If-None-Match": 'W/"1", "7"'}),  # 304 (weak comparison)
        (f"/v1/activities/{one}", {"If-None-Match": '"2"'}),  # 200
        (f"/v1/activities/{one}", {"If-None-Match": "*"}),  # 304
        (f"/v1/activities/{one}", {"If-None-Match": "version one"}),  # 400
        ("/v1/activities", {}),
        ("/v1/activities?limit=2", {}),
        (f"/v1/activities?limit=2&cursor={cursor}", {}),
        (f"/v1/activities?cursor={cursor}", {}),
        ("/v1/activities?limit=200", {}),
        ("/v1/activities?cursor=bm90IGEgY3Vyc29y", {}),  # 400: not a cursor we handed out
    ]
    slow_gets = [
        # Forms the fast routes leave to FastAPI.
        ("/v1/activities?limit=201", {}),  # 422
        ("/v1/activities?limit=0", {}),  # 422
        ("/v1/activities?limit=02", {}),
        ("/v1/activities?limit=2&limit=3", {}),
        ("/v1/activities?limit=", {}),
        ("/v1/activities?cursor=", {}),
        ("/v1/activities?meeting_code=CITES+SC99", {}),
        ("/v1/activities?limit=2&colour=green", {}),  # 400: unknown parameter
        (f"/v1/activities/{one}?colour=green", {}),  # 400
        (f"/v1/activities/{one.replace('-', '')}", {}),  # another spelling of a UUID
        ("/v1/activities/not-a-uuid", {}),  # 422
        (f"/v1/activities/{one}x", {}),  # 422
    ]
    before = _answered(app)
    for url, extra in fast_gets + slow_gets:
        for key in (keys.cites_read, keys.cms, keys.admin):
            await _same(client, plain, "GET", url, {**key, **extra})
    # A key without the read scope: FastAPI's 403, from both.
    for url, extra in fast_gets:
        response = await _same(client, plain, "GET", url, {**keys.cms_write_only, **extra})
        assert response.status_code == 403
    for url in ("/v1/activities", f"/v1/activities/{one}"):
        await _same(client, plain, "HEAD", url, keys.cites_read)
    after = _answered(app)
    gets = sum(1 for url, _ in fast_gets if "?" not in url and url != "/v1/activities")
    assert after.get("get_activity", 0) - before.get("get_activity", 0) == 3 * gets
    assert after.get("list_activities", 0) - before.get("list_activities", 0) == 3 * (
        len(fast_gets) - gets
    )


async def test_creates_answer_as_the_route_does(
    app: FastAPI, client: httpx.AsyncClient, plain: httpx.AsyncClient, keys: Keys
) -> None:
    await create(client, "/v1/meetings", meeting_body(code="CITES SC99"), keys.cites)
    fast_posts: list[tuple[dict[str, str], dict[str, Any]]] = [
        (keys.cites, {"json": activity_body(lead_secretariat="CITES", partner_secretariats=[])}),
        (keys.cms, {"json": activity_body(meeting_codes=["CITES SC99"], species=[])}),
        (keys.admin, {"json": activity_body()}),
        (
            {**keys.cms, "Content-Type": "application/json; charset=UTF-8"},
            {"content": orjson.dumps(activity_body(title="Charset"))},
        ),
        # Valid bodies the services refuse: 422 for unknown codes, 403 for another's activity.
        (keys.cms, {"json": activity_body(meeting_codes=["CITES SC12"])}),
        (keys.cms, {"json": activity_body(partner_secretariats=["CBD"])}),
        (keys.cms, {"json": activity_body(lead_secretariat="CITES", partner_secretariats=[])}),
        ({**keys.cms, "Idempotency-Key": "x" * 256}, {"json": activity_body()}),  # 400
    ]
    slow_posts: list[tuple[dict[str, str], dict[str, Any]]] = [
        (keys.cms, {"json": activity_body(title="")}),  # 422 naming body.title
        (keys.cms, {"json": activity_body(end_date="2010-01-01")}),  # 422: ends before start
        (keys.cms, {"json": {**activity_body(), "colour": "green"}}),  # 422: unknown field
        (keys.cms, {"json": None}),
        (keys.cms, {"json": [activity_body()]}),
        (keys.cms, {"content": b'{"title": '}),  # not JSON
        (keys.cms, {"content": b'{"title": "\\ud800"}'}),  # a lone surrogate
        (keys.cms, {"content": b"\xef\xbb\xbf" + orjson.dumps(activity_body())}),  # a BOM
        (keys.cms, {"content": b""}),
        ({**keys.cms, "Content-Type": "text/plain"}, {"content": orjson.dumps(activity_body())}),
        (keys.cites_read, {"json": activity_body()}),  # 403: no write scope
        (keys.cites_read, {"content": b"{"}),
    ]
    before = _answered(app)
    for headers, kwargs in fast_posts + slow_posts:
        await _same(client, plain, "POST", "/v1/activities", headers, **kwargs)
    after = _answered(app)
    assert after["create_activity"] - before.get("create_activity", 0) == len(fast_posts)


async def test_an_idempotent_retry_is_answered_alike_by_either(
    client: httpx.AsyncClient, plain: httpx.AsyncClient, keys: Keys
) -> None:
    """A retry with the same Idempotency-Key gets the first answer, whichever path took the
    first; another body under that key is a 422 from both."""
    headers = {**keys.cms, "Idempotency-Key": "sync-42"}
    body = activity_body(title="Sharks")
    first = await client.post("/v1/activities", json=body, headers=headers)
    assert first.status_code == 201
    for retry in (client, plain):
        again = await retry.post("/v1/activities", json=body, headers=headers)
        assert again.status_code == 201
        assert again.headers["idempotent-replayed"] == "true"
        assert again.json() == first.json()
        assert again.headers["location"] == first.headers["location"]
    other = activity_body(title="Rays")
    await _same(client, plain, "POST", "/v1/activities", headers, json=other)
    listed = (await client.get("/v1/activities", headers=keys.cms)).json()["items"]
    assert [a["title"] for a in listed] == ["Sharks"]
