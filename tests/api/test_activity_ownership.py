"""Who may change a joint activity: partners edit it, only its lead changes who takes part."""

from __future__ import annotations

from typing import Any

import httpx

from tests.factories import Keys, activity_body, create

ACTIVITIES = "/v1/activities"


async def _cms_led(client: httpx.AsyncClient, keys: Keys, **overrides: Any) -> dict[str, Any]:
    """An activity led by CMS with CITES as partner."""
    return await create(client, ACTIVITIES, activity_body(**overrides), keys.cms)


def _lead_only(response: httpx.Response, *fields: str) -> None:
    assert response.status_code == 403, response.text
    problem = response.json()
    assert problem["type"].endswith("/lead-secretariat-only")
    assert "lead secretariat" in problem["detail"] and "CMS" in problem["detail"]
    assert "only its lead secretariat" in problem["rule"]
    assert [e["field"] for e in problem.get("errors") or []] == [f"body.{f}" for f in fields]


async def test_a_partner_cannot_make_itself_lead_or_drop_the_lead_or_delete(
    client: httpx.AsyncClient, keys: Keys
) -> None:
    activity = await _cms_led(client, keys)
    url = f"{ACTIVITIES}/{activity['id']}"
    takeover = await client.patch(
        url,
        json={"lead_secretariat": "CITES", "partner_secretariats": []},
        headers=keys.cites,
    )
    _lead_only(takeover, "lead_secretariat", "partner_secretariats")
    _lead_only(
        await client.patch(url, json={"partner_secretariats": []}, headers=keys.cites),
        "partner_secretariats",
    )
    _lead_only(
        await client.patch(url, json={"lead_secretariat": "CITES"}, headers=keys.cites),
        "lead_secretariat",
    )
    _lead_only(await client.delete(url, headers=keys.cites))
    reference = {"source": "cites-web", "id": "A-1"}
    _lead_only(
        await client.patch(url, json={"external_ref": reference}, headers=keys.cites),
        "external_ref",
    )
    whole = activity_body(lead_secretariat="CITES", partner_secretariats=["CMS"])
    _lead_only(
        await client.patch(url, json=whole, headers=keys.cites),
        "lead_secretariat",
        "partner_secretariats",
    )
    stored = (await client.get(url, headers=keys.cms)).json()
    assert (stored["lead_secretariat"], stored["partner_secretariats"], stored["version"]) == (
        "CMS",
        ["CITES"],
        1,
    )
    # The lead is not locked out: CMS still writes it.
    assert (
        await client.patch(url, json={"status": "completed"}, headers=keys.cms)
    ).status_code == 200


async def test_a_partner_may_edit_everything_else(client: httpx.AsyncClient, keys: Keys) -> None:
    activity = await _cms_led(client, keys)
    url = f"{ACTIVITIES}/{activity['id']}"
    edited = await client.patch(
        url,
        json={"title": "Elephants, phase two", "status": "completed", "tags": ["phase-2"]},
        headers=keys.cites,
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["title"] == "Elephants, phase two"
    same_partners = await client.patch(
        url, json={"lead_secretariat": "CMS", "partner_secretariats": ["CITES"]}, headers=keys.cites
    )
    assert same_partners.status_code == 200  # naming them unchanged is no change


async def test_the_lead_hands_over_the_lead_and_changes_partners(
    client: httpx.AsyncClient, keys: Keys
) -> None:
    activity = await _cms_led(client, keys)
    url = f"{ACTIVITIES}/{activity['id']}"
    handed = await client.patch(
        url, json={"lead_secretariat": "CITES", "partner_secretariats": ["CMS"]}, headers=keys.cms
    )
    assert handed.status_code == 200, handed.text
    assert handed.json()["lead_secretariat"] == "CITES"
    # CMS is a partner now: it may no longer delete, CITES (the new lead) may.
    assert (await client.delete(url, headers=keys.cms)).status_code == 403
    assert (await client.delete(url, headers=keys.cites)).status_code == 204
    assert (await client.get(url, headers=keys.cms)).status_code == 404


async def test_an_admin_may_change_the_lead_and_delete(
    client: httpx.AsyncClient, keys: Keys
) -> None:
    activity = await _cms_led(client, keys)
    url = f"{ACTIVITIES}/{activity['id']}"
    changed = await client.patch(
        url, json={"lead_secretariat": "CITES", "partner_secretariats": []}, headers=keys.admin
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["partner_secretariats"] == []
    assert (await client.delete(url, headers=keys.admin)).status_code == 204


async def test_a_partner_cannot_give_an_activity_an_external_reference(
    client: httpx.AsyncClient, keys: Keys
) -> None:
    """An activity's reference belongs to its lead: a partner would squat the lead's."""
    squat = await client.post(
        ACTIVITIES,
        json=activity_body(external_ref={"source": "cms-website", "id": "act-1"}),
        headers=keys.cites,
    )
    _lead_only(squat, "external_ref")
    own = await client.post(
        ACTIVITIES,
        json=activity_body(external_ref={"source": "cms-website", "id": "act-1"}),
        headers=keys.cms,
    )
    assert own.status_code == 201, own.text
