from __future__ import annotations

import httpx

from tests.factories import Keys


async def test_lists_the_founding_secretariats(client: httpx.AsyncClient, keys: Keys) -> None:
    response = await client.get("/v1/secretariats", headers=keys.cites_read)
    assert response.status_code == 200
    items = response.json()["items"]
    assert [(s["code"], s["duty_station"]) for s in items] == [
        ("CITES", "CH GVA"),
        ("CMS", "DE BON"),
    ]


async def test_admin_adds_a_secretariat_others_may_not(
    client: httpx.AsyncClient, keys: Keys
) -> None:
    body = {
        "code": "AEWA",
        "name": "African-Eurasian Waterbird Agreement",
        "duty_station": "DE BON",
    }
    refused = await client.post("/v1/secretariats", json=body, headers=keys.cites)
    assert refused.status_code == 403
    created = await client.post("/v1/secretariats", json=body, headers=keys.admin)
    assert created.status_code == 201
    again = await client.post("/v1/secretariats", json=body, headers=keys.admin)
    assert again.status_code == 409
    codes = [
        s["code"] for s in (await client.get("/v1/secretariats", headers=keys.cms)).json()["items"]
    ]
    assert codes == ["AEWA", "CITES", "CMS"]
