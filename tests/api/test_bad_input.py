"""Hostile or careless input is a 4xx problem naming the parameter, never a 500; and the HTTP
details a client relies on (strong If-Match, the full Allow list)."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import AsyncIterator

import httpx
import orjson
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from services.api.main import create_app
from shared.config import Settings
from tests.factories import Keys, activity_body, create, meeting_body
from tests.support.factories import request_body


def _forged_cursor(*parts: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(parts)).encode()).decode().rstrip("=")


def _fields(response: httpx.Response) -> set[str]:
    return {error["field"] for error in response.json().get("errors") or []}


@pytest.fixture
async def loopback_client(
    settings: Settings, engine: AsyncEngine
) -> AsyncIterator[httpx.AsyncClient]:
    """The API in-process, with webhooks allowed to 127.0.0.1."""
    application = create_app(settings.model_copy(update={"webhook_allowed_hosts": "127.0.0.1"}))
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://tandem.test") as c:
            yield c


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/v1/meetings/%00", "path.meeting"),
        ("/v1/stats/meetings/%00", "path.meeting"),
        ("/v1/activities?q=%00", "query.q"),
        ("/v1/activities?species=%00", "query.species"),
        ("/v1/activities?q=elephant%1b", "query.q"),
        ("/v1/meetings/by-code%07", "path.meeting"),
    ],
)
async def test_control_characters_in_path_or_query_are_422_naming_the_parameter(
    client: httpx.AsyncClient, keys: Keys, url: str, field: str
) -> None:
    response = await client.get(url, headers=keys.cites_read)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert _fields(response) == {field}


async def test_nul_in_any_string_field_of_a_body_is_422_naming_it(
    loopback_client: httpx.AsyncClient, keys: Keys
) -> None:
    hook = await loopback_client.post(
        "/v1/webhooks",
        json={"url": "http://127.0.0.1:9/\x00hook", "events": ["activity.changed"]},
        headers=keys.admin,
    )
    assert hook.status_code == 422, hook.text
    assert _fields(hook) == {"body.url"}
    described = await loopback_client.post(
        "/v1/webhooks",
        json={
            "url": "http://127.0.0.1:9/hook",
            "events": ["activity.changed"],
            "description": "CMS\x00HR",
        },
        headers=keys.admin,
    )
    assert described.status_code == 422
    assert _fields(described) == {"body.description"}
    activity = await loopback_client.post(
        "/v1/activities", json=activity_body(description="a\x00b"), headers=keys.cms
    )
    assert activity.status_code == 422
    assert _fields(activity) == {"body.description"}
    # Free text keeps its tabs and line breaks.
    kept = await loopback_client.post(
        "/v1/activities", json=activity_body(description="one\n\ttwo\r\n"), headers=keys.cms
    )
    assert kept.status_code == 201, kept.text


@pytest.mark.parametrize("since", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"])
async def test_timestamps_at_the_edges_of_time_filter_without_error(
    client: httpx.AsyncClient, keys: Keys, since: str
) -> None:
    await create(client, "/v1/activities", activity_body(), keys.cms)
    for collection in ("activities", "meetings", "workload-requests", "capacity-offers"):
        response = await client.get(
            f"/v1/{collection}", params={"updated_since": since}, headers=keys.cms
        )
        assert response.status_code == 200, (collection, response.text)
    everything = await client.get(
        "/v1/activities", params={"updated_since": "0001-01-01T00:00:00+14:00"}, headers=keys.cms
    )
    assert len(everything.json()["items"]) == 1


@pytest.mark.parametrize(
    "cursor",
    [
        _forged_cursor("0001-01-01T00:00:00+14:00", "3f0c6a52-8f1e-4b9e-a4f4-2f3d7f0e9b11"),
        _forged_cursor("9999-12-31T23:59:59-14:00", "3f0c6a52-8f1e-4b9e-a4f4-2f3d7f0e9b11"),
    ],
)
async def test_forged_cursors_holding_edge_timestamps_are_400(
    client: httpx.AsyncClient, keys: Keys, cursor: str
) -> None:
    for collection in ("activities", "meetings", "workload-requests", "matching/runs"):
        response = await client.get(
            f"/v1/{collection}", params={"cursor": cursor}, headers=keys.admin
        )
        assert response.status_code == 400, (collection, response.text)
        assert response.json()["type"].endswith("/invalid-cursor")


async def test_integer_cursors_past_bigint_are_400(
    loopback_client: httpx.AsyncClient, keys: Keys
) -> None:
    hook = await create(
        loopback_client,
        "/v1/webhooks",
        {"url": "http://127.0.0.1:9/hook", "events": ["activity.changed"]},
        keys.admin,
    )
    wanted = await create(loopback_client, "/v1/workload-requests", request_body(), keys.cites)
    for huge in (2**63, 2**64 + 5):
        cursor = _forged_cursor(huge)
        for url in (
            f"/v1/webhooks/{hook['id']}/deliveries",
            f"/v1/workload-requests/{wanted['id']}/history",
            "/v1/changes",
        ):
            name = "after" if url == "/v1/changes" else "cursor"
            response = await loopback_client.get(url, params={name: cursor}, headers=keys.admin)
            assert response.status_code == 400, (url, response.text)


async def test_date_filters_and_their_schema_agree(client: httpx.AsyncClient, keys: Keys) -> None:
    refused = await client.get("/v1/meetings", params={"to": "0139-08-20"}, headers=keys.cites)
    assert refused.status_code == 422
    assert _fields(refused) == {"query.to"}
    accepted = await client.get("/v1/meetings", params={"to": "2100-12-31"}, headers=keys.cites)
    assert accepted.status_code == 200
    document = (await client.get("/openapi.json")).json()
    parameters = document["paths"]["/v1/meetings"]["get"]["parameters"]
    to = next(p for p in parameters if p["name"] == "to")
    date_schema = next(s for s in to["schema"]["anyOf"] if s.get("format") == "date")
    assert not re.match(date_schema["pattern"], "0139-08-20")
    assert re.match(date_schema["pattern"], "2000-01-01")
    assert re.match(date_schema["pattern"], "2100-12-31")


async def test_if_match_with_a_weak_tag_never_matches(
    client: httpx.AsyncClient, keys: Keys
) -> None:
    meeting = await create(client, "/v1/meetings", meeting_body(), keys.cites)
    url = f"/v1/meetings/{meeting['id']}"
    weak = await client.patch(
        url, json={"title": "Renamed"}, headers={**keys.cites, "If-Match": 'W/"1"'}
    )
    assert weak.status_code == 412, weak.text
    strong = await client.patch(
        url, json={"title": "Renamed"}, headers={**keys.cites, "If-Match": '"1"'}
    )
    assert strong.status_code == 200
    # If-None-Match keeps the weak comparison.
    cached = await client.get(url, headers={**keys.cites, "If-None-Match": 'W/"2"'})
    assert cached.status_code == 304


async def test_405_lists_every_method_of_the_path_in_allow(
    client: httpx.AsyncClient, keys: Keys
) -> None:
    collection = await client.options("/v1/activities", headers=keys.cms)
    assert collection.status_code == 405
    assert collection.headers["allow"] == "GET, POST"
    one = await client.request(
        "PUT", "/v1/activities/3f0c6a52-8f1e-4b9e-a4f4-2f3d7f0e9b11", headers=keys.cms
    )
    assert one.status_code == 405
    assert one.headers["allow"] == "DELETE, GET, PATCH"


async def test_merge_patch_offers_null_only_where_the_server_takes_it(
    client: httpx.AsyncClient, keys: Keys
) -> None:
    document = (await client.get("/openapi.json")).json()
    patch = document["paths"]["/v1/meetings/{meeting}"]["patch"]["requestBody"]["content"]
    assert set(patch) >= {"application/merge-patch+json", "application/json"}
    ref = patch["application/merge-patch+json"]["schema"]["$ref"].rsplit("/", 1)[1]
    properties = document["components"]["schemas"][ref]["properties"]
    assert "anyOf" not in properties["title"] and properties["title"]["type"] == "string"
    assert {"type": "null"} in properties["external_ref"]["anyOf"]

    meeting = await create(client, "/v1/meetings", meeting_body(), keys.cites)
    url = f"/v1/meetings/{meeting['id']}"
    refused = await client.patch(url, json={"title": None}, headers=keys.cites)
    assert refused.status_code == 422
    assert _fields(refused) == {"body.title"}
    removed = await client.patch(
        url,
        content=orjson.dumps({"external_ref": None}),
        headers={**keys.cites, "Content-Type": "application/merge-patch+json"},
    )
    assert removed.status_code == 200, removed.text
