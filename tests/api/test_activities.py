"""The register of joint activities and the meetings they are reported to."""

from __future__ import annotations

import csv
import io

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.factories import Keys, activity_body, create, meeting_body


async def _titles(client: httpx.AsyncClient, keys: Keys, **params: str) -> list[str]:
    response = await client.get("/v1/activities", params=params, headers=keys.cites_read)
    assert response.status_code == 200, response.text
    return sorted(a["title"] for a in response.json()["items"])


async def test_list_filters(client: httpx.AsyncClient, keys: Keys) -> None:
    await create(client, "/v1/meetings", meeting_body(code="CITES SC61"), keys.cites)
    await create(
        client,
        "/v1/activities",
        activity_body(title="Elephants", meeting_codes=["CITES SC61"]),
        keys.cms,
    )
    await create(
        client,
        "/v1/activities",
        activity_body(
            title="Sharks",
            description="Listing of migratory sharks in both appendices.",
            species=["Carcharodon carcharias"],
            lead_secretariat="CITES",
            partner_secretariats=[],
            status="planned",
        ),
        keys.cites,
    )
    await create(
        client,
        "/v1/activities",
        activity_body(
            title="Nomenclature",
            description="Harmonising standard references.",
            theme="listings_nomenclature",
            species=[],
            partner_secretariats=[],
        ),
        keys.cms,
    )
    assert await _titles(client, keys, theme="species") == ["Elephants", "Sharks"]
    assert await _titles(client, keys, status="planned") == ["Sharks"]
    assert await _titles(client, keys, secretariat="CITES") == ["Elephants", "Sharks"]
    assert await _titles(client, keys, secretariat="CMS") == ["Elephants", "Nomenclature"]
    assert await _titles(client, keys, species="CARCHARODON carcharias") == ["Sharks"]
    assert await _titles(client, keys, meeting_code="CITES SC61") == ["Elephants"]
    # Full-text search stems words: "shark" finds "sharks", "harmonise" finds "Harmonising".
    assert await _titles(client, keys, q="shark") == ["Sharks"]
    assert await _titles(client, keys, q="harmonise references") == ["Nomenclature"]
    assert await _titles(client, keys, q="tigers") == []
    # Filters combine (each combination is a statement of its own).
    assert await _titles(client, keys, theme="species", secretariat="CITES", q="shark") == [
        "Sharks"
    ]
    assert await _titles(client, keys, secretariat="CMS", meeting_code="CITES SC61") == [
        "Elephants"
    ]
    assert await _titles(client, keys, theme="listings_nomenclature", status="planned") == []


async def test_updated_since_returns_recent_changes(client: httpx.AsyncClient, keys: Keys) -> None:
    old = await create(client, "/v1/activities", activity_body(title="Old"), keys.cms)
    await create(client, "/v1/activities", activity_body(title="Other"), keys.cms)
    changed = await client.patch(
        f"/v1/activities/{old['id']}", json={"status": "completed"}, headers=keys.cms
    )
    since = changed.json()["updated_at"]
    assert await _titles(client, keys, updated_since=since) == ["Old"]


async def test_create_read_delete(client: httpx.AsyncClient, keys: Keys) -> None:
    created = await client.post("/v1/activities", json=activity_body(), headers=keys.cms)
    assert created.status_code == 201
    body = created.json()
    assert body["lead_secretariat"] == "CMS"
    assert body["version"] == 1
    url = created.headers["location"]
    read = (await client.get(url, headers=keys.cites_read)).json()
    # A read adds what each species name resolves to in the conventions' taxonomies.
    assert [r["name"] for r in read.pop("species_resolved")] == body["species"]
    assert read == body
    deleted = await client.delete(url, headers=keys.cms)
    assert deleted.status_code == 204
    assert (await client.get(url, headers=keys.cites_read)).status_code == 404
    assert (await client.delete(url, headers=keys.cms)).status_code == 404


async def test_activity_rules(client: httpx.AsyncClient, keys: Keys) -> None:
    cases = {
        "lead among partners": activity_body(partner_secretariats=["CMS"]),
        "unknown partner": activity_body(partner_secretariats=["CITES", "IPBES"]),
        "unknown meeting": activity_body(meeting_codes=["CMS CoP99"]),
        "dates out of order": activity_body(start_date="2014-01-01", end_date="2012-01-01"),
        "duplicate species": activity_body(species=["Saiga tatarica", "saiga tatarica"]),
    }
    for name, body in cases.items():
        response = await client.post("/v1/activities", json=body, headers=keys.cms)
        assert response.status_code == 422, name
    assert await _titles(client, keys) == []


async def test_meeting_lifecycle(client: httpx.AsyncClient, keys: Keys) -> None:
    created = await client.post("/v1/meetings", json=meeting_body(), headers=keys.cites)
    assert created.status_code == 201
    meeting = created.json()
    by_code = await client.get("/v1/meetings/CITES SC99", headers=keys.cms)
    assert by_code.json()["id"] == meeting["id"]
    duplicate = await client.post("/v1/meetings", json=meeting_body(), headers=keys.cites)
    assert duplicate.status_code == 409
    bad = await client.post(
        "/v1/meetings", json=meeting_body(code="X1", location="Geneva"), headers=keys.cites
    )
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "body.location"
    cancelled = await client.post(f"/v1/meetings/{meeting['id']}/cancel", headers=keys.cites)
    assert cancelled.json()["status"] == "cancelled"
    listed = await client.get("/v1/meetings", params={"status": "cancelled"}, headers=keys.cms)
    assert [m["code"] for m in listed.json()["items"]] == ["CITES SC99"]


async def test_meeting_code_cannot_change_once_activities_refer_to_it(
    client: httpx.AsyncClient, keys: Keys
) -> None:
    meeting = await create(client, "/v1/meetings", meeting_body(), keys.cites)
    await create(client, "/v1/activities", activity_body(meeting_codes=["CITES SC99"]), keys.cites)
    response = await client.patch(
        f"/v1/meetings/{meeting['id']}", json={"code": "CITES SC100"}, headers=keys.cites
    )
    assert response.status_code == 409


async def test_meeting_activities_grouped_by_theme_as_json_and_csv(
    client: httpx.AsyncClient, keys: Keys
) -> None:
    await create(client, "/v1/meetings", meeting_body(), keys.cites)
    for title, theme in [
        ("Sharks", "species"),
        ("Elephants", "species"),
        ("Nomenclature", "listings_nomenclature"),
        ("=HYPERLINK(evil)", "liaison"),
    ]:
        await create(
            client,
            "/v1/activities",
            activity_body(title=title, theme=theme, meeting_codes=["CITES SC99"]),
            keys.cites,
        )
    await create(client, "/v1/activities", activity_body(title="Not reported"), keys.cites)
    report = await client.get("/v1/meetings/CITES SC99/activities", headers=keys.cites_read)
    assert report.status_code == 200
    body = report.json()
    assert body["total"] == 4
    assert [(g["theme"], [a["title"] for a in g["activities"]]) for g in body["themes"]] == [
        ("species", ["Elephants", "Sharks"]),
        ("listings_nomenclature", ["Nomenclature"]),
        ("liaison", ["=HYPERLINK(evil)"]),
    ]
    as_csv = await client.get(
        "/v1/meetings/CITES SC99/activities",
        headers={**keys.cites_read, "Accept": "text/csv"},
    )
    assert as_csv.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(as_csv.text.lstrip("\ufeff"))))
    assert rows[0][:3] == ["theme", "title", "lead_secretariat"]
    assert [r[1] for r in rows[1:]] == ["Elephants", "Sharks", "Nomenclature", "'=HYPERLINK(evil)"]
    missing = await client.get("/v1/meetings/CMS CoP99/activities", headers=keys.cites_read)
    assert missing.status_code == 404


async def test_create_records_the_activity_in_the_change_feed(
    client: httpx.AsyncClient, keys: Keys, engine: AsyncEngine
) -> None:
    created = await create(client, "/v1/activities", activity_body(title="Saiga"), keys.cms)
    await client.delete(f"/v1/activities/{created['id']}", headers=keys.cms)
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                text(
                    "SELECT resource_type, op, version, data FROM change"
                    " WHERE resource_id = :id ORDER BY id"
                ),
                {"id": created["id"]},
            )
        ).all()
    assert [(r.resource_type, r.op, r.version) for r in rows] == [
        ("activity", "create", 1),
        ("activity", "delete", 2),
    ]
    assert rows[0].data == created
