from __future__ import annotations

import httpx


async def test_lists_the_founding_secretariats(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/secretariats")
    assert response.status_code == 200
    items = response.json()["items"]
    assert [(s["code"], s["duty_station"]) for s in items] == [
        ("CITES", "CH GVA"),
        ("CMS", "DE BON"),
    ]
