"""External references belong to the secretariat that wrote them: no squatting."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.factories import Keys, activity_body, meeting_body
from tests.support.factories import offer_body, request_body

REQUESTS = "/v1/workload-requests"


async def test_another_secretariats_reference_does_not_block_a_by_ref_put(
    client: httpx.AsyncClient, keys: Keys
) -> None:
    """CITES holding `cms-hr/REQ-2` used to make CMS's own PUT of it a 403."""
    squat = await client.post(
        REQUESTS,
        json=request_body(external_ref={"source": "cms-hr", "id": "REQ-2"}),
        headers=keys.cites,
    )
    assert squat.status_code == 201, squat.text
    url = f"{REQUESTS}/by-ref/cms-hr/REQ-2"
    own = await client.put(url, json=request_body(secretariat="CMS"), headers=keys.cms)
    assert own.status_code == 201, own.text
    assert own.json()["secretariat"] == "CMS" and own.json()["id"] != squat.json()["id"]
    again = await client.put(url, json=request_body(secretariat="CMS", hours=20), headers=keys.cms)
    assert (again.status_code, again.json()["id"], again.json()["version"]) == (
        200,
        own.json()["id"],
        2,
    )
    # CITES's PUT of the same reference resolves within CITES: its own request.
    cites = await client.put(url, json=request_body(hours=12), headers=keys.cites)
    assert (cites.status_code, cites.json()["id"]) == (200, squat.json()["id"])
    stored = (await client.get(f"{REQUESTS}/{squat.json()['id']}", headers=keys.cms)).json()
    assert (stored["secretariat"], stored["hours"]) == ("CITES", 12)


@pytest.mark.parametrize(
    ("collection", "make_body", "owner_field"),
    [
        ("meetings", lambda s, n: meeting_body(code=f"{s} M{n}", secretariat=s), "secretariat"),
        (
            "activities",
            lambda s, n: activity_body(
                lead_secretariat=s, partner_secretariats=["CMS" if s == "CITES" else "CITES"]
            ),
            "lead_secretariat",
        ),
        ("workload-requests", lambda s, n: request_body(secretariat=s), "secretariat"),
        ("capacity-offers", lambda s, n: offer_body(secretariat=s), "secretariat"),
    ],
)
async def test_two_secretariats_hold_the_same_reference_each_for_its_own_object(
    client: httpx.AsyncClient, keys: Keys, collection: str, make_body: Any, owner_field: str
) -> None:
    url = f"/v1/{collection}/by-ref/shared-source/X-1"
    cites = await client.put(url, json=make_body("CITES", 1), headers=keys.cites)
    cms = await client.put(url, json=make_body("CMS", 2), headers=keys.cms)
    assert (cites.status_code, cms.status_code) == (201, 201), cms.text
    assert cites.json()["id"] != cms.json()["id"]
    assert (cites.json()[owner_field], cms.json()[owner_field]) == ("CITES", "CMS")
    # Plain creates: the same reference again in one secretariat is a 409 naming it.
    clash = await client.post(
        f"/v1/{collection}",
        json={**make_body("CMS", 3), "external_ref": {"source": "shared-source", "id": "X-1"}},
        headers=keys.cms,
    )
    assert clash.status_code == 409, clash.text
    assert clash.json()["field"] == "external_ref"
    # Batch upserts resolve within the key's secretariat too.
    items = [{**make_body("CMS", 2), "external_ref": {"source": "shared-source", "id": "X-1"}}]
    batch = await client.post(
        f"/v1/{collection}:batch-upsert", json={"items": items}, headers=keys.cms
    )
    assert batch.status_code == 200, batch.text
    (result,) = batch.json()["items"]
    assert (result["result"], result["id"]) == ("unchanged", cms.json()["id"])


async def test_an_admin_names_the_secretariat_of_a_reference(
    client: httpx.AsyncClient, keys: Keys
) -> None:
    url = f"{REQUESTS}/by-ref/cms-hr/REQ-3"
    missing = await client.put(url, json=request_body(secretariat="CMS"), headers=keys.admin)
    assert missing.status_code == 422
    assert missing.json()["errors"][0]["field"] == "query.secretariat"
    made = await client.put(
        url, params={"secretariat": "CMS"}, json=request_body(secretariat="CMS"), headers=keys.admin
    )
    assert made.status_code == 201, made.text
    mine = await client.put(url, json=request_body(secretariat="CMS"), headers=keys.cms)
    assert (mine.status_code, mine.json()["id"]) == (200, made.json()["id"])
    inconsistent = await client.put(
        url,
        params={"secretariat": "CITES"},
        json=request_body(secretariat="CMS"),
        headers=keys.admin,
    )
    assert inconsistent.status_code == 422
    assert inconsistent.json()["errors"][0]["field"] == "body.secretariat"
    batch = await client.post(
        f"{REQUESTS}:batch-upsert",
        json={
            "items": [
                {
                    **request_body(secretariat="CMS"),
                    "external_ref": {"source": "cms-hr", "id": "REQ-3"},
                }
            ]
        },
        headers=keys.admin,
    )
    assert batch.status_code == 422
    assert batch.json()["errors"][0]["field"] == "query.secretariat"
    batch = await client.post(
        f"{REQUESTS}:batch-upsert",
        params={"secretariat": "CMS"},
        json={
            "items": [
                {
                    **request_body(secretariat="CMS"),
                    "external_ref": {"source": "cms-hr", "id": "REQ-3"},
                }
            ]
        },
        headers=keys.admin,
    )
    assert batch.json()["items"][0]["result"] == "unchanged"


async def test_a_secretariats_key_cannot_resolve_references_of_another(
    client: httpx.AsyncClient, keys: Keys
) -> None:
    url = f"{REQUESTS}/by-ref/cms-hr/REQ-4"
    other = await client.put(
        url, params={"secretariat": "CMS"}, json=request_body(), headers=keys.cites
    )
    assert other.status_code == 403
    named_own = await client.put(
        url, params={"secretariat": "CITES"}, json=request_body(), headers=keys.cites
    )
    assert named_own.status_code == 201
    for_cms = await client.put(url, json=request_body(secretariat="CMS"), headers=keys.cites)
    assert for_cms.status_code == 403


async def test_the_lead_keeps_its_activity_reference_when_handing_over(
    client: httpx.AsyncClient, keys: Keys
) -> None:
    """The reference follows the lead: after a handover it is the new lead's."""
    url = "/v1/activities/by-ref/cms-website/act-9"
    made = await client.put(url, json=activity_body(), headers=keys.cms)
    assert made.status_code == 201
    handed = await client.put(
        url,
        json=activity_body(lead_secretariat="CITES", partner_secretariats=["CMS"]),
        headers=keys.cms,
    )
    assert (handed.status_code, handed.json()["lead_secretariat"]) == (200, "CITES")
    by_new_lead = await client.put(
        url,
        json=activity_body(
            lead_secretariat="CITES", partner_secretariats=["CMS"], status="completed"
        ),
        headers=keys.cites,
    )
    assert (by_new_lead.status_code, by_new_lead.json()["id"]) == (200, made.json()["id"])
