"""The contract's conventions: problems, pagination, ETags, merge patch, idempotency, by-ref."""

from __future__ import annotations

import asyncio
import base64

import httpx
import orjson

from tests.factories import Keys, activity_body, create


async def test_validation_problem_names_each_bad_field(
    client: httpx.AsyncClient, keys: Keys
) -> None:
    body = activity_body(theme="whales", start_date="2012-13-40", partner_secretariats="CITES")
    del body["title"]
    response = await client.post("/v1/activities", json=body, headers=keys.cms)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 422
    fields = {e["field"] for e in problem["errors"]}
    assert {"body.title", "body.theme", "body.start_date", "body.partner_secretariats"} <= fields
    listed = await client.get("/v1/activities", headers=keys.cms)
    assert listed.json()["items"] == []


async def test_unknown_and_read_only_fields_are_refused(
    client: httpx.AsyncClient, keys: Keys
) -> None:
    unknown = await client.post("/v1/activities", json=activity_body(budget=100), headers=keys.cms)
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["field"] == "body.budget"
    created = await create(client, "/v1/activities", activity_body(), keys.cms)
    for field, value in [
        ("version", 99),
        ("id", "00000000-0000-0000-0000-000000000000"),
        ("created_at", "2020-01-01T00:00:00Z"),
    ]:
        response = await client.patch(
            f"/v1/activities/{created['id']}", json={field: value}, headers=keys.cms
        )
        assert response.status_code == 422, field
    again = (await client.get(f"/v1/activities/{created['id']}", headers=keys.cms)).json()
    assert again["version"] == 1


async def test_bad_bodies_are_4xx_problems(client: httpx.AsyncClient, keys: Keys) -> None:
    headers = {**keys.cms, "Content-Type": "application/json"}
    cases = [
        b"\xff\xfe not utf-8",
        b"{not json",
        b"[]",
        orjson.dumps(activity_body(title="x" * 301)),
        orjson.dumps(activity_body(title="null\u0000byte")),
        orjson.dumps(activity_body(tags=[f"t{i}" for i in range(21)])),
        orjson.dumps(activity_body(start_date="2014-01-01", end_date="2013-01-01")),
        orjson.dumps(activity_body(lead_secretariat="CITES", partner_secretariats=["CITES"])),
        orjson.dumps(activity_body(partner_secretariats=["UNEP"])),
        orjson.dumps(activity_body(meeting_codes=["CMS CoP99"])),
    ]
    for content in cases:
        response = await client.post("/v1/activities", content=content, headers=headers)
        assert 400 <= response.status_code < 500, (content[:40], response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["detail"]
    assert (await client.get("/v1/activities", headers=keys.cms)).json()["items"] == []


async def test_pagination_walks_every_item_once_despite_concurrent_inserts(
    client: httpx.AsyncClient, keys: Keys
) -> None:
    made = [
        (await create(client, "/v1/activities", activity_body(title=f"A{i}"), keys.cms))["id"]
        for i in range(7)
    ]
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/v1/activities", params=params, headers=keys.cms)).json()
        seen.extend(a["id"] for a in page["items"])
        # Another writer adds an activity between page reads.
        await create(client, "/v1/activities", activity_body(title="late"), keys.cites)
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen))
    assert set(made) <= set(seen)


async def test_bad_cursor_and_limits(client: httpx.AsyncClient, keys: Keys) -> None:
    forged = base64.urlsafe_b64encode(b'["yesterday", 7]').decode()
    for params in ({"cursor": "%%%"}, {"cursor": forged}, {"cursor": "bm90IGpzb24"}):
        response = await client.get("/v1/activities", params=params, headers=keys.cms)
        assert response.status_code == 400
        assert "cursor" in response.json()["detail"]
    for limit in (0, 10_000, -1):
        response = await client.get("/v1/activities", params={"limit": limit}, headers=keys.cms)
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "query.limit"


async def test_etag_304_and_412(client: httpx.AsyncClient, keys: Keys) -> None:
    created = await client.post("/v1/activities", json=activity_body(), headers=keys.cms)
    etag = created.headers["etag"]
    url = created.headers["location"]
    assert etag == '"1"'
    fresh = await client.get(url, headers={**keys.cms, "If-None-Match": etag})
    assert fresh.status_code == 304
    changed = await client.patch(
        url, json={"status": "completed"}, headers={**keys.cms, "If-Match": etag}
    )
    assert changed.status_code == 200
    assert changed.headers["etag"] == '"2"'
    stale = await client.patch(url, json={"title": "Lost"}, headers={**keys.cms, "If-Match": etag})
    assert stale.status_code == 412
    assert stale.json()["current_version"] == 2
    after = await client.get(url, headers={**keys.cms, "If-None-Match": etag})
    assert after.status_code == 200
    assert after.json()["title"] == "Joint work on the African elephant"
    # A PATCH without If-Match is allowed.
    blind = await client.patch(url, json={"title": "Elephants"}, headers=keys.cms)
    assert blind.status_code == 200
    assert blind.json()["version"] == 3


async def test_merge_patch_sets_and_removes(client: httpx.AsyncClient, keys: Keys) -> None:
    created = await create(client, "/v1/activities", activity_body(), keys.cms)
    url = f"/v1/activities/{created['id']}"
    response = await client.patch(
        url,
        content=orjson.dumps({"end_date": None, "tags": ["elephants", "ivory"]}),
        headers={**keys.cms, "Content-Type": "application/merge-patch+json"},
    )
    assert response.status_code == 200
    body = response.json()
    assert body["end_date"] is None
    assert body["tags"] == ["elephants", "ivory"]
    assert body["title"] == created["title"]
    same = await client.patch(url, json={"tags": ["elephants", "ivory"]}, headers=keys.cms)
    assert same.json()["version"] == body["version"]
    required = await client.patch(url, json={"title": None}, headers=keys.cms)
    assert required.status_code == 422
    assert required.json()["errors"][0]["field"] == "body.title"


async def test_idempotent_create_replays_and_refuses_other_body(
    client: httpx.AsyncClient, keys: Keys
) -> None:
    headers = {**keys.cms, "Idempotency-Key": "sync-2026-11-28-001"}
    first = await client.post("/v1/activities", json=activity_body(), headers=headers)
    second = await client.post("/v1/activities", json=activity_body(), headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert second.headers["idempotent-replayed"] == "true"
    other = await client.post("/v1/activities", json=activity_body(title="Other"), headers=headers)
    assert other.status_code == 422
    assert "Idempotency-Key" in other.json()["detail"]
    listed = (await client.get("/v1/activities", headers=keys.cms)).json()["items"]
    assert len(listed) == 1


async def test_concurrent_requests_with_one_idempotency_key_create_one_object(
    client: httpx.AsyncClient, keys: Keys
) -> None:
    headers = {**keys.cms, "Idempotency-Key": "race-1"}
    responses = await asyncio.gather(
        *(client.post("/v1/activities", json=activity_body(), headers=headers) for _ in range(8))
    )
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["id"] for r in responses}) == 1
    listed = (await client.get("/v1/activities", headers=keys.cms)).json()["items"]
    assert len(listed) == 1


async def test_put_by_external_ref_is_an_idempotent_upsert(
    client: httpx.AsyncClient, keys: Keys
) -> None:
    url = "/v1/activities/by-ref/cms-website/act-42"
    first = await client.put(url, json=activity_body(), headers=keys.cms)
    assert first.status_code == 201
    assert first.json()["external_ref"] == {"source": "cms-website", "id": "act-42"}
    again = await client.put(url, json=activity_body(), headers=keys.cms)
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["version"] == 1
    changed = await client.put(url, json=activity_body(status="completed"), headers=keys.cms)
    assert changed.json()["version"] == 2
    clash = await client.post(
        "/v1/activities",
        json=activity_body(external_ref={"source": "cms-website", "id": "act-42"}),
        headers=keys.cms,
    )
    assert clash.status_code == 409
    assert url in clash.json()["detail"]
    concurrent = await asyncio.gather(
        *(
            client.put(
                "/v1/activities/by-ref/cms-website/act-43", json=activity_body(), headers=keys.cms
            )
            for _ in range(6)
        )
    )
    assert sorted(r.status_code for r in concurrent) == [200, 200, 200, 200, 200, 201]
    assert len({r.json()["id"] for r in concurrent}) == 1


async def test_misspelt_filter_is_refused(client: httpx.AsyncClient, keys: Keys) -> None:
    response = await client.get("/v1/activities", params={"stauts": "planned"}, headers=keys.cms)
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "query.stauts"
