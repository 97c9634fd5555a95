"""Bulk sync by external reference: per-item results, savepoints, limits, repeatability."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.factories import Keys, activity_body, meeting_body


def _activity(n: int, **overrides: Any) -> dict[str, Any]:
    body = {
        "title": f"Joint activity {n}",
        "external_ref": {"source": "cms-website", "id": f"act-{n:04d}"},
        **overrides,
    }
    return activity_body(**body)


async def _count(engine: AsyncEngine, sql: str) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(text(sql))).scalar_one())


async def test_same_batch_twice_is_unchanged_and_records_no_changes(
    client: httpx.AsyncClient, keys: Keys, engine: AsyncEngine
) -> None:
    items = [_activity(n) for n in range(60)]
    first = await client.post(
        "/v1/activities:batch-upsert", json={"items": items}, headers=keys.cms
    )
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["counts"] == {"created": 60, "updated": 0, "unchanged": 0, "error": 0}
    assert [r["index"] for r in body["items"]] == list(range(60))
    assert [r["external_ref"]["id"] for r in body["items"]] == [f"act-{n:04d}" for n in range(60)]
    assert all(r["result"] == "created" and r["version"] == 1 for r in body["items"])
    changes_after_first = await _count(engine, "SELECT count(*) FROM change")
    events_after_first = await _count(engine, "SELECT count(*) FROM event")
    assert changes_after_first == 60
    assert events_after_first == 60

    second = await client.post(
        "/v1/activities:batch-upsert", json={"items": items}, headers=keys.cms
    )
    assert second.status_code == 200
    assert second.json()["counts"] == {"created": 0, "updated": 0, "unchanged": 60, "error": 0}
    assert [r["id"] for r in second.json()["items"]] == [r["id"] for r in body["items"]]
    assert await _count(engine, "SELECT count(*) FROM change") == changes_after_first
    assert await _count(engine, "SELECT count(*) FROM event") == events_after_first
    feed = await client.get("/v1/changes", params={"limit": 1000}, headers=keys.cms)
    assert len(feed.json()["items"]) == 60

    items[7]["status"] = "completed"
    third = await client.post(
        "/v1/activities:batch-upsert", json={"items": items}, headers=keys.cms
    )
    assert third.json()["counts"] == {"created": 0, "updated": 1, "unchanged": 59, "error": 0}
    assert third.json()["items"][7] | {"id": None} == {
        "index": 7,
        "external_ref": {"source": "cms-website", "id": "act-0007"},
        "result": "updated",
        "id": None,
        "version": 2,
    }
    shown = await client.get(f"/v1/activities/{body['items'][7]['id']}", headers=keys.cms)
    assert shown.json()["status"] == "completed"
    assert await _count(engine, "SELECT count(*) FROM change") == 61


async def test_a_failing_item_fails_alone_with_its_problem(
    client: httpx.AsyncClient, keys: Keys, engine: AsyncEngine
) -> None:
    led = {"lead_secretariat": "CITES", "partner_secretariats": ["CMS"]}
    items: list[Any] = [
        _activity(0, **led),
        _activity(1, theme="whales", **led),  # invalid field
        activity_body(title="No reference", **led),  # no external_ref
        {"not": "an activity"},  # an object, but no activity (a non-object fails the batch)
        _activity(4, partner_secretariats=[]),  # CMS only: the CITES key may not write it
        _activity(5, meeting_codes=["CMS CoP99"], **led),  # a meeting that does not exist
        _activity(0, title="Same reference again", **led),  # duplicate in the batch
        _activity(7, **led),
        _activity(8),  # led by CMS: its reference is CMS's, not the partner's to set
    ]
    items[4]["lead_secretariat"] = "CMS"
    response = await client.post(
        "/v1/activities:batch-upsert", json={"items": items}, headers=keys.cites
    )
    assert response.status_code == 200, response.text
    results = response.json()["items"]
    assert [r["result"] for r in results] == [
        "created",
        "error",
        "error",
        "error",
        "error",
        "error",
        "error",
        "created",
        "error",
    ]
    problems = {r["index"]: r["problem"] for r in results if r["result"] == "error"}
    assert problems[1]["status"] == 422
    assert {e["field"] for e in problems[1]["errors"]} == {"body.theme"}
    assert problems[2]["status"] == 422 and "external_ref" in problems[2]["detail"]
    assert problems[3]["status"] == 422
    assert problems[4]["status"] == 403 and "CMS" in problems[4]["detail"]
    assert problems[5]["status"] == 422 and "CMS CoP99" in problems[5]["detail"]
    assert problems[6]["status"] == 422 and problems[6]["type"].endswith("duplicate-external-ref")
    assert problems[8]["status"] == 403 and problems[8]["type"].endswith("lead-secretariat-only")
    for problem in problems.values():
        assert problem["type"].startswith("https://") and problem["title"] and problem["detail"]
    assert results[2]["external_ref"] is None
    assert results[4]["external_ref"] == {"source": "cms-website", "id": "act-0004"}
    assert response.json()["counts"] == {"created": 2, "updated": 0, "unchanged": 0, "error": 7}
    # Nothing partial was written for the failed items: two objects, two changes, two events.
    assert await _count(engine, "SELECT count(*) FROM activity") == 2
    assert await _count(engine, "SELECT count(*) FROM change") == 2
    assert await _count(engine, "SELECT count(*) FROM event") == 2
    titles = await client.get("/v1/activities", headers=keys.cites)
    assert sorted(a["title"] for a in titles.json()["items"]) == [
        "Joint activity 0",
        "Joint activity 7",
    ]


async def test_meetings_batch_and_routes_with_a_colon(
    client: httpx.AsyncClient, keys: Keys
) -> None:
    items = [
        meeting_body(code=f"CITES SC{n}", external_ref={"source": "cites-cal", "id": f"sc{n}"})
        for n in (77, 78)
    ]
    made = await client.post("/v1/meetings:batch-upsert", json={"items": items}, headers=keys.cites)
    assert made.status_code == 200, made.text
    assert made.json()["counts"]["created"] == 2
    items[1]["title"] = "Seventy-eighth meeting"
    again = await client.post(
        "/v1/meetings:batch-upsert", json={"items": items}, headers=keys.cites
    )
    assert [r["result"] for r in again.json()["items"]] == ["unchanged", "updated"]
    shown = await client.get("/v1/meetings/CITES SC78", headers=keys.cites)
    assert shown.json()["title"] == "Seventy-eighth meeting"
    # The colon route is not taken for an object id, nor the other way round.
    assert (await client.get("/v1/activities:batch-upsert", headers=keys.cms)).status_code == 405
    assert (
        await client.post("/v1/activities:batch-upserts", json={}, headers=keys.cms)
    ).status_code == 404
    assert (
        await client.post("/v1/activities", json={"items": []}, headers=keys.cms)
    ).status_code == 422
    bad = await client.post("/v1/meetings:batch-upsert", json={"things": []}, headers=keys.cites)
    assert bad.status_code == 422


async def test_batch_over_1000_items_is_422_as_its_schema_says_and_over_5_mib_is_413(
    client: httpx.AsyncClient, keys: Keys, engine: AsyncEngine
) -> None:
    too_many = [_activity(n) for n in range(1001)]
    response = await client.post(
        "/v1/activities:batch-upsert", json={"items": too_many}, headers=keys.cms
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0]["field"] == "body.items"
    assert "1000" in response.json()["errors"][0]["message"]
    schema = (await client.get("/openapi.json")).json()["components"]["schemas"]
    assert schema["ActivityBatchUpsert"]["properties"]["items"]["maxItems"] == 1000
    not_objects = await client.post(
        "/v1/activities:batch-upsert", json={"items": [_activity(1), 7]}, headers=keys.cms
    )
    assert not_objects.status_code == 422
    assert not_objects.json()["errors"][0]["field"] == "body.items.1"
    assert await _count(engine, "SELECT count(*) FROM activity") == 0

    long_text = "Coordinated support to range States. " * 240  # ~9 KB per item
    big = [_activity(n, description=long_text) for n in range(250)]
    content = orjson.dumps({"items": big})
    assert 2 * 1024 * 1024 < len(content) < 5 * 1024 * 1024
    headers = {**keys.cms, "Content-Type": "application/json"}
    accepted = await client.post("/v1/activities:batch-upsert", content=content, headers=headers)
    assert accepted.status_code == 200, accepted.text[:300]
    assert accepted.json()["counts"]["created"] == 250
    # Other routes keep the 1 MiB limit.
    elsewhere = await client.post("/v1/activities", content=content, headers=headers)
    assert elsewhere.status_code == 413

    huge = orjson.dumps({"items": [_activity(n, description=long_text) for n in range(600)]})
    assert len(huge) > 5 * 1024 * 1024
    refused = await client.post("/v1/activities:batch-upsert", content=huge, headers=headers)
    assert refused.status_code == 413
    assert await _count(engine, "SELECT count(*) FROM activity") == 250


async def test_overlapping_batches_at_once_do_not_deadlock(
    client: httpx.AsyncClient, keys: Keys
) -> None:
    items = [_activity(n) for n in range(80)]
    orders = [items, list(reversed(items)), items[40:] + items[:40]]
    responses = await asyncio.gather(
        *(
            client.post("/v1/activities:batch-upsert", json={"items": o}, headers=keys.cms)
            for o in orders
        )
    )
    assert [r.status_code for r in responses] == [200, 200, 200]
    created = sum(r.json()["counts"]["created"] for r in responses)
    unchanged = sum(r.json()["counts"]["unchanged"] for r in responses)
    assert (created, unchanged) == (80, 160)
    ids = {r["external_ref"]["id"]: r["id"] for resp in responses for r in resp.json()["items"]}
    assert len(set(ids.values())) == 80


async def test_batch_with_idempotency_key_is_replayed(
    client: httpx.AsyncClient, keys: Keys
) -> None:
    headers = {**keys.cms, "Idempotency-Key": "sync-2026-11-28"}
    items = [_activity(n) for n in range(3)]
    first = await client.post("/v1/activities:batch-upsert", json={"items": items}, headers=headers)
    again = await client.post("/v1/activities:batch-upsert", json={"items": items}, headers=headers)
    assert again.headers.get("idempotent-replayed") == "true"
    assert again.json() == first.json()
