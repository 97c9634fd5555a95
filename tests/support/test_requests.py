"""Workload requests and capacity offers over HTTP: validation, ownership, lists, edits."""

from __future__ import annotations

from datetime import date, timedelta

import httpx
import orjson
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.factories import Keys, activity_body, create, meeting_body
from tests.support.factories import (
    figures_agree,
    offer_body,
    post,
    proposal,
    propose,
    request_body,
    week,
)

REQUESTS = "/v1/workload-requests"
OFFERS = "/v1/capacity-offers"


async def _nothing_stored(client: httpx.AsyncClient, keys: Keys) -> None:
    assert (await client.get(REQUESTS, headers=keys.cites)).json()["items"] == []
    assert (await client.get(OFFERS, headers=keys.cites)).json()["items"] == []


async def test_bad_requests_are_4xx_problems_naming_the_field(
    client: httpx.AsyncClient, keys: Keys
) -> None:
    today = date.today()
    cases = [
        (request_body(kind="plumbing"), "body.kind"),
        (request_body(hours="many"), "body.hours"),
        (request_body(hours=0), "body.hours"),
        (request_body(hours=-5), "body.hours"),
        (request_body(hours=10**12), "body.hours"),
        (request_body(priority="urgent"), "body.priority"),
        (request_body(start_date="2026-13-01"), "body.start_date"),
        (request_body(end_date="1999-12-31"), "body.end_date"),
        (request_body(skills=[f"s{i}" for i in range(10_000)]), "body.skills"),
        (request_body(skills=["under_score"]), "body.skills.0"),
        (request_body(skills="registration"), "body.skills"),
        (request_body(location="Geneva"), "body.location"),
        (request_body(location=None), "body"),
        (request_body(title="x" * 301), "body.title"),
        (request_body(title="nul\u0000byte"), "body.title"),
        (request_body(description="y" * 10_001), "body.description"),
        (request_body(on_site="sometimes"), "body.on_site"),
        (request_body(activity_id="not-a-uuid"), "body.activity_id"),
        (request_body(budget=100), "body.budget"),
        (request_body(status="fulfilled"), "body.status"),
        (request_body(hours_accepted=3), "body.hours_accepted"),
        # Out of order, too long, in the past.
        (request_body(start_date=week()[3].isoformat(), end_date=week()[1].isoformat()), "body"),
        (
            request_body(
                end_date=(
                    date.fromisoformat(request_body()["start_date"]) + timedelta(days=366)
                ).isoformat()
            ),
            "body",
        ),
        (
            request_body(
                start_date=(today - timedelta(days=9)).isoformat(),
                end_date=(today - timedelta(days=2)).isoformat(),
            ),
            "body.end_date",
        ),
        (request_body(meeting_code="CITES CoP99"), "body.meeting_code"),
        (request_body(activity_id="00000000-0000-4000-8000-000000000000"), "body.activity_id"),
        (request_body(secretariat="UNEP"), None),
    ]
    for body, field in cases:
        response = await client.post(REQUESTS, json=body, headers=keys.cites)
        assert 400 <= response.status_code < 500, (field, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        problem = response.json()
        assert problem["detail"]
        if field is not None:
            assert field in [e["field"] for e in problem["errors"]], (field, problem)
    for raw in (b"\xff\xfe", b"{oops", b"[]", b"null"):
        response = await client.post(
            REQUESTS, content=raw, headers={**keys.cites, "Content-Type": "application/json"}
        )
        assert response.status_code == 422, raw
    await _nothing_stored(client, keys)


async def test_bad_offers_are_4xx_problems_naming_the_field(
    client: httpx.AsyncClient, keys: Keys
) -> None:
    cases = [
        (offer_body(hours_per_day=0), "body.hours_per_day"),
        (offer_body(hours_per_day=13), "body.hours_per_day"),
        (offer_body(total_hours=0), "body.total_hours"),
        (offer_body(total_hours=10**9), "body.total_hours"),
        (offer_body(kind="ICT"), "body.kind"),
        (offer_body(location="DE-BON"), "body.location"),
        (offer_body(travel_ok=[]), "body.travel_ok"),
        (offer_body(skills=[str(i) for i in range(21)]), "body.skills"),
        (offer_body(start_date="2027-01-10", end_date="2027-01-01"), "body"),
        (offer_body(start_date="2027-01-01", end_date="2028-01-02"), "body"),
        (offer_body(start_date="1900-01-01"), "body.start_date"),
        (offer_body(status="withdrawn"), "body.status"),
    ]
    for body, field in cases:
        response = await client.post(OFFERS, json=body, headers=keys.cms)
        assert response.status_code == 422, (field, response.text)
        assert field in [e["field"] for e in response.json()["errors"]], (field, response.text)
    await _nothing_stored(client, keys)


async def test_skills_are_normalised_tags(client: httpx.AsyncClient, keys: Keys) -> None:
    made = await post(
        client,
        OFFERS,
        offer_body(skills=[" AV-Streaming ", "network", "NETWORK", "av-streaming"]),
        keys.cms,
    )
    assert made["skills"] == ["av-streaming", "network"]
    found = await client.get(OFFERS, params={"skill": "AV-streaming"}, headers=keys.cites)
    assert [o["id"] for o in found.json()["items"]] == [made["id"]]
    none = await client.get(OFFERS, params={"skill": "catering"}, headers=keys.cites)
    assert none.json()["items"] == []


async def test_only_the_own_secretariat_may_ask_offer_or_edit(
    client: httpx.AsyncClient, keys: Keys
) -> None:
    assert (await client.post(REQUESTS, json=request_body(), headers=keys.cms)).status_code == 403
    assert (await client.post(OFFERS, json=offer_body(), headers=keys.cites)).status_code == 403
    assert (
        await client.post(REQUESTS, json=request_body(), headers=keys.cites_read)
    ).status_code == 403
    req = await post(client, REQUESTS, request_body(), keys.cites)
    off = await post(client, OFFERS, offer_body(), keys.cms)
    for method, path, body, key, owner in [
        ("PATCH", f"{REQUESTS}/{req['id']}", {"title": "x"}, keys.cms_write_only, "CITES"),
        ("POST", f"{REQUESTS}/{req['id']}/cancel", None, keys.cms_write_only, "CITES"),
        ("PATCH", f"{OFFERS}/{off['id']}", {"hours_per_day": 2}, keys.cites, "CMS"),
        ("POST", f"{OFFERS}/{off['id']}/withdraw", None, keys.cites, "CMS"),
    ]:
        response = await client.request(method, path, json=body, headers=key)
        assert response.status_code == 403, (method, path, response.text)
        assert owner in response.json()["detail"]
    off_now = (await client.get(f"{OFFERS}/{off['id']}", headers=keys.cms)).json()
    assert (off_now["version"], off_now["status"]) == (1, "active")
    moved = await client.patch(
        f"{REQUESTS}/{req['id']}", json={"secretariat": "CMS"}, headers=keys.cites
    )
    assert moved.status_code == 403
    again = (await client.get(f"{REQUESTS}/{req['id']}", headers=keys.cites)).json()
    assert again["version"] == 1 and again["secretariat"] == "CITES"
    # The admin key may act for any secretariat.
    admin = await client.patch(
        f"{REQUESTS}/{req['id']}", json={"priority": "critical"}, headers=keys.admin
    )
    assert admin.status_code == 200


async def test_meetings_and_activities_are_linked_when_they_exist(
    client: httpx.AsyncClient, keys: Keys
) -> None:
    await create(client, "/v1/meetings", meeting_body(code="CITES SC99"), keys.cites)
    activity = await create(client, "/v1/activities", activity_body(), keys.cms)
    req = await post(
        client,
        REQUESTS,
        request_body(meeting_code="CITES SC99", activity_id=activity["id"]),
        keys.cites,
    )
    assert req["meeting_code"] == "CITES SC99" and req["activity_id"] == activity["id"]
    listed = await client.get(REQUESTS, params={"meeting_code": "CITES SC99"}, headers=keys.cms)
    assert [r["id"] for r in listed.json()["items"]] == [req["id"]]
    # Deleting the activity keeps the request, without the link.
    assert (
        await client.delete(f"/v1/activities/{activity['id']}", headers=keys.cms)
    ).status_code == 204
    again = (await client.get(f"{REQUESTS}/{req['id']}", headers=keys.cites)).json()
    assert again["activity_id"] is None


async def test_lists_filter_and_page(client: httpx.AsyncClient, keys: Keys) -> None:
    days = week()
    later = week(6)
    ict = await post(
        client,
        REQUESTS,
        request_body(kind="ict", skills=["network"], on_site=False, location=None),
        keys.cites,
    )
    staff = await post(client, REQUESTS, request_body(), keys.cites)
    late = await post(
        client,
        REQUESTS,
        request_body(start_date=later[0].isoformat(), end_date=later[-1].isoformat()),
        keys.cites,
    )
    cms = await post(client, REQUESTS, request_body(secretariat="CMS", location="DE BON"), keys.cms)

    async def ids(**params: object) -> list[str]:
        response = await client.get(REQUESTS, params=params, headers=keys.cites_read)
        assert response.status_code == 200, response.text
        return [r["id"] for r in response.json()["items"]]

    assert await ids(kind="ict") == [ict["id"]]
    assert await ids(secretariat="CMS") == [cms["id"]]
    assert await ids(skill="registration") == [staff["id"], late["id"], cms["id"]]
    assert await ids(status="open") == [ict["id"], staff["id"], late["id"], cms["id"]]
    assert await ids(status="fulfilled") == []
    assert await ids(**{"from": later[0].isoformat()}) == [late["id"]]
    assert await ids(to=days[-1].isoformat()) == [ict["id"], staff["id"], cms["id"]]
    assert await ids(updated_since="2999-01-01T00:00:00Z") == []
    first = (await client.get(REQUESTS, params={"limit": 3}, headers=keys.cites)).json()
    second = (
        await client.get(
            REQUESTS, params={"limit": 3, "cursor": first["next_cursor"]}, headers=keys.cites
        )
    ).json()
    assert [r["id"] for r in first["items"] + second["items"]] == [
        ict["id"],
        staff["id"],
        late["id"],
        cms["id"],
    ]
    assert second["next_cursor"] is None
    for bad in (
        {"status": "done"},
        {"kind": "x"},
        {"from": "yesterday"},
        {"limit": 0},
        {"skill": "a" * 51},
        {"to": "0001-01-01"},
    ):
        response = await client.get(REQUESTS, params=bad, headers=keys.cites)
        assert response.status_code == 422, bad
    bad_cursor = await client.get(REQUESTS, params={"cursor": "nope"}, headers=keys.cites)
    assert bad_cursor.status_code == 400


async def test_patch_merges_checks_versions_and_recomputes_status(
    client: httpx.AsyncClient,
    keys: Keys,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    req = await post(client, REQUESTS, request_body(hours=16), keys.cites)
    off = await post(client, OFFERS, offer_body(), keys.cms)
    days = week()
    await propose(session_factory, [proposal(req, off, [(days[0], 8)])])
    current = await client.get(f"{REQUESTS}/{req['id']}", headers=keys.cites)
    assert current.json()["status"] == "partially_matched"
    etag = current.headers["etag"]
    assert (
        await client.get(f"{REQUESTS}/{req['id']}", headers={**keys.cites, "If-None-Match": etag})
    ).status_code == 304

    stale = await client.patch(
        f"{REQUESTS}/{req['id']}", json={"hours": 8}, headers={**keys.cites, "If-Match": '"1"'}
    )
    assert stale.status_code == 412
    patched = await client.patch(
        f"{REQUESTS}/{req['id']}",
        json={"hours": 8, "description": None},
        headers={**keys.cites, "If-Match": etag},
    )
    assert patched.status_code == 200, patched.text
    body = patched.json()
    # Fewer hours asked: the 8 proposed hours now cover the request.
    assert (body["hours"], body["status"], body["description"]) == (8, "matched", "")
    assert patched.headers["etag"] != etag
    await figures_agree(session_factory)
    history = (await client.get(f"{REQUESTS}/{req['id']}/history", headers=keys.cites)).json()[
        "items"
    ]
    assert history[-1]["action"] == "updated"
    assert history[-1]["changes"]["hours"] == {"from": 16, "to": 8}
    assert history[-1]["changes"]["status"] == {"from": "partially_matched", "to": "matched"}

    # A patch that changes nothing keeps the version; read-only fields are refused.
    same = await client.patch(f"{REQUESTS}/{req['id']}", json={"hours": 8}, headers=keys.cites)
    assert same.json()["version"] == body["version"]
    for field, value in [("status", "fulfilled"), ("hours_accepted", 8), ("id", req["id"])]:
        refused = await client.patch(
            f"{REQUESTS}/{req['id']}", json={field: value}, headers=keys.cites
        )
        assert refused.status_code == 422, field
    unsafe = await client.patch(
        f"{REQUESTS}/{req['id']}", json={"on_site": True, "location": None}, headers=keys.cites
    )
    assert unsafe.status_code == 422


async def test_edits_that_break_accepted_allocations_are_409(
    client: httpx.AsyncClient,
    keys: Keys,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    req = await post(client, REQUESTS, request_body(hours=16), keys.cites)
    off = await post(client, OFFERS, offer_body(), keys.cms)
    days = week()
    await propose(session_factory, [proposal(req, off, [(days[1], 6), (days[2], 6)])])
    (alloc,) = (await client.get("/v1/allocations", headers=keys.cms)).json()["items"]
    assert (await client.post(f"/v1/allocations/{alloc['id']}/accept", headers=keys.cms)).is_success

    for path, patch, key in [
        (f"{REQUESTS}/{req['id']}", {"hours": 11}, keys.cites),
        (f"{REQUESTS}/{req['id']}", {"start_date": days[2].isoformat()}, keys.cites),
        (f"{REQUESTS}/{req['id']}", {"end_date": days[1].isoformat()}, keys.cites),
        (f"{REQUESTS}/{req['id']}", {"kind": "ict"}, keys.cites),
        (f"{REQUESTS}/{req['id']}", {"skills": ["registration", "french"]}, keys.cites),
        (f"{REQUESTS}/{req['id']}", {"on_site": False}, keys.cites),
        (f"{OFFERS}/{off['id']}", {"total_hours": 11}, keys.cms),
        (f"{OFFERS}/{off['id']}", {"hours_per_day": 5}, keys.cms),
        (f"{OFFERS}/{off['id']}", {"end_date": days[1].isoformat()}, keys.cms),
        (f"{OFFERS}/{off['id']}", {"skills": ["documents"]}, keys.cms),
        (f"{OFFERS}/{off['id']}", {"travel_ok": False}, keys.cms),
        (f"{OFFERS}/{off['id']}", {"unavailable_dates": [days[2].isoformat()]}, keys.cms),
    ]:
        response = await client.patch(path, json=patch, headers=key)
        assert response.status_code == 409, (patch, response.text)
        assert response.json()["detail"]
    # Changes that keep the accepted allocation whole are fine, and ask for a new run.
    ok = await client.patch(
        f"{REQUESTS}/{req['id']}", json={"hours": 12, "priority": "critical"}, headers=keys.cites
    )
    assert ok.status_code == 200 and ok.json()["status"] == "fulfilled"
    ok = await client.patch(
        f"{OFFERS}/{off['id']}", json={"total_hours": 12, "hours_per_day": 6}, headers=keys.cms
    )
    assert ok.status_code == 200
    # A day away that no accepted hour uses is fine; it must lie in the window.
    away = [days[4].isoformat(), days[0].isoformat(), days[4].isoformat()]
    ok = await client.patch(
        f"{OFFERS}/{off['id']}", json={"unavailable_dates": away}, headers=keys.cms
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()["unavailable_dates"] == [days[0].isoformat(), days[4].isoformat()]
    outside = await client.patch(
        f"{OFFERS}/{off['id']}",
        json={"unavailable_dates": [(days[4] + timedelta(days=30)).isoformat()]},
        headers=keys.cms,
    )
    assert outside.status_code == 422
    assert outside.json()["errors"][0]["field"] == "body.unavailable_dates"
    await figures_agree(session_factory)


async def test_by_ref_upsert_creates_once_then_updates(
    client: httpx.AsyncClient, keys: Keys
) -> None:
    path = f"{REQUESTS}/by-ref/cites-intranet/REQ-77"
    made = await client.put(path, json=request_body(), headers=keys.cites)
    assert made.status_code == 201
    assert made.json()["external_ref"] == {"source": "cites-intranet", "id": "REQ-77"}
    same = await client.put(path, json=request_body(), headers=keys.cites)
    assert same.status_code == 200 and same.json()["version"] == 1
    changed = await client.put(path, json=request_body(hours=20), headers=keys.cites)
    assert changed.status_code == 200
    assert (changed.json()["id"], changed.json()["version"], changed.json()["hours"]) == (
        made.json()["id"],
        2,
        20,
    )
    clash = await client.post(
        REQUESTS,
        json=request_body(external_ref={"source": "cites-intranet", "id": "REQ-77"}),
        headers=keys.cites,
    )
    assert clash.status_code == 409
    offer_path = f"{OFFERS}/by-ref/cms-hr/OFF-1"
    assert (await client.put(offer_path, json=offer_body(), headers=keys.cms)).status_code == 201
    assert (await client.put(offer_path, json=offer_body(), headers=keys.cms)).status_code == 200
    assert len((await client.get(REQUESTS, headers=keys.cms)).json()["items"]) == 1


async def test_idempotent_create_returns_the_first_response(
    client: httpx.AsyncClient, keys: Keys
) -> None:
    headers = {**keys.cms, "Idempotency-Key": "offer-2026-av"}
    first = await client.post(OFFERS, json=offer_body(), headers=headers)
    second = await client.post(OFFERS, json=offer_body(), headers=headers)
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second.headers["idempotent-replayed"] == "true"
    other = await client.post(OFFERS, json=offer_body(total_hours=8), headers=headers)
    assert other.status_code == 422
    assert len((await client.get(OFFERS, headers=keys.cms)).json()["items"]) == 1


@pytest.mark.parametrize("path", [REQUESTS, OFFERS, "/v1/allocations"])
async def test_unknown_ids_are_404(client: httpx.AsyncClient, keys: Keys, path: str) -> None:
    missing = "00000000-0000-4000-8000-000000000000"
    for suffix in ("", "/history"):
        response = await client.get(f"{path}/{missing}{suffix}", headers=keys.cites)
        assert response.status_code == 404, suffix
        assert response.headers["content-type"] == "application/problem+json"
    assert (await client.get(f"{path}/not-a-uuid", headers=keys.cites)).status_code == 422


async def test_nothing_changes_when_a_body_is_too_big(
    client: httpx.AsyncClient, keys: Keys
) -> None:
    huge = orjson.dumps(request_body(description="z" * (2 * 1024 * 1024)))
    response = await client.post(
        REQUESTS, content=huge, headers={**keys.cites, "Content-Type": "application/json"}
    )
    assert response.status_code == 413
    await _nothing_stored(client, keys)
