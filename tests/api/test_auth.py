"""Every /v1 route checks its key and its scope; objects of another secretariat are refused."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import httpx
import pytest

from services.api.main import create_app
from tests.factories import Keys, activity_body, create, meeting_body

# The scope each route needs. Adding a route without listing it here fails the coverage test.
REQUIRED_SCOPE: dict[tuple[str, str], str] = {
    ("GET", "/v1/secretariats"): "read",
    ("POST", "/v1/secretariats"): "admin",
    ("GET", "/v1/duty-stations"): "read",
    ("PUT", "/v1/duty-stations/{locode}"): "admin",
    ("GET", "/v1/secretariats/{code}/closures"): "read",
    ("POST", "/v1/secretariats/{code}/closures"): "write",
    ("DELETE", "/v1/secretariats/{code}/closures/{day}"): "write",
    ("GET", "/v1/secretariats/{code}/calendar"): "read",
    ("GET", "/v1/forecast/meetings/{meeting}"): "read",
    ("GET", "/v1/forecast/shortfall"): "read",
    ("GET", "/v1/meetings"): "read",
    ("POST", "/v1/meetings"): "write",
    ("PUT", "/v1/meetings/by-ref/{source}/{ext_id}"): "write",
    ("GET", "/v1/meetings/{meeting}"): "read",
    ("PATCH", "/v1/meetings/{meeting}"): "write",
    ("POST", "/v1/meetings/{meeting}/cancel"): "write",
    ("GET", "/v1/meetings/{meeting}/activities"): "read",
    ("GET", "/v1/activities"): "read",
    ("POST", "/v1/activities"): "write",
    ("PUT", "/v1/activities/by-ref/{source}/{ext_id}"): "write",
    ("GET", "/v1/activities/{activity_id}"): "read",
    ("PATCH", "/v1/activities/{activity_id}"): "write",
    ("DELETE", "/v1/activities/{activity_id}"): "write",
    ("GET", "/v1/api-keys"): "admin",
    ("GET", "/v1/api-keys/me"): "read",
    ("POST", "/v1/api-keys"): "admin",
    ("POST", "/v1/api-keys/{key_id}/revoke"): "admin",
    ("GET", "/v1/matching/runs/{run_id}"): "read",
    ("POST", "/v1/matching/runs"): "admin",
    ("GET", "/v1/matching/runs"): "read",
    ("GET", "/v1/matching/status"): "read",
    ("POST", "/v1/matching/preview"): "admin",
    ("GET", "/v1/workload-requests/{request_id}/candidates"): "read",
    ("GET", "/v1/stats/activities"): "read",
    ("GET", "/v1/stats/workload"): "read",
    ("GET", "/v1/stats/capacity"): "read",
    ("GET", "/v1/stats/unmet-skills"): "read",
    ("GET", "/v1/stats/exchange"): "read",
    ("GET", "/v1/stats/meetings/{meeting}"): "read",
    ("GET", "/v1/workload-requests"): "read",
    ("POST", "/v1/workload-requests"): "write",
    ("PUT", "/v1/workload-requests/by-ref/{source}/{ext_id}"): "write",
    ("GET", "/v1/workload-requests/{request_id}"): "read",
    ("PATCH", "/v1/workload-requests/{request_id}"): "write",
    ("POST", "/v1/workload-requests/{request_id}/cancel"): "write",
    ("GET", "/v1/workload-requests/{request_id}/history"): "read",
    ("GET", "/v1/capacity-offers"): "read",
    ("POST", "/v1/capacity-offers"): "write",
    ("PUT", "/v1/capacity-offers/by-ref/{source}/{ext_id}"): "write",
    ("GET", "/v1/capacity-offers/{offer_id}"): "read",
    ("PATCH", "/v1/capacity-offers/{offer_id}"): "write",
    ("POST", "/v1/capacity-offers/{offer_id}/withdraw"): "write",
    ("GET", "/v1/capacity-offers/{offer_id}/history"): "read",
    ("GET", "/v1/allocations"): "read",
    ("GET", "/v1/allocations/{allocation_id}"): "read",
    ("POST", "/v1/allocations/{allocation_id}/accept"): "approve",
    ("POST", "/v1/allocations/{allocation_id}/decline"): "approve",
    ("POST", "/v1/allocations/{allocation_id}/cancel"): "approve",
    ("GET", "/v1/allocations/{allocation_id}/history"): "read",
    ("GET", "/v1/changes"): "read",
    ("POST", "/v1/activities:batch-upsert"): "write",
    ("POST", "/v1/meetings:batch-upsert"): "write",
    ("POST", "/v1/workload-requests:batch-upsert"): "write",
    ("POST", "/v1/capacity-offers:batch-upsert"): "write",
    ("GET", "/v1/webhooks"): "admin",
    ("POST", "/v1/webhooks"): "admin",
    ("GET", "/v1/webhooks/{webhook_id}"): "admin",
    ("PATCH", "/v1/webhooks/{webhook_id}"): "admin",
    ("DELETE", "/v1/webhooks/{webhook_id}"): "admin",
    ("GET", "/v1/webhooks/{webhook_id}/deliveries"): "admin",
    ("POST", "/v1/webhooks/{webhook_id}/test"): "admin",
    ("GET", "/v1/taxa"): "read",
    ("GET", "/v1/taxa/{taxon_id}"): "read",
    ("POST", "/v1/taxa:import"): "admin",
    ("GET", "/v1/listings/discrepancies"): "read",
    ("GET", "/v1/listings/discrepancies/counts"): "read",
}

_PARAM_VALUES = {
    "source": "src",
    "ext_id": "x1",
    "meeting": "CITES SC1",
    "locode": "CH GVA",
    "code": "CITES",
    "day": "2026-12-28",
}


def _v1_routes() -> list[tuple[str, str]]:
    paths = create_app().openapi()["paths"]
    return [
        (method.upper(), path)
        for path, operations in paths.items()
        if path.startswith("/v1/")
        for method in operations
    ]


def _concrete(path: str) -> str:
    for name in (
        "source",
        "ext_id",
        "meeting",
        "activity_id",
        "key_id",
        "run_id",
        "request_id",
        "offer_id",
        "allocation_id",
        "webhook_id",
        "locode",
        "code",
        "day",
        "taxon_id",
    ):
        path = path.replace("{" + name + "}", _PARAM_VALUES.get(name, str(uuid.uuid4())))
    return path


def test_every_v1_route_has_a_declared_scope() -> None:
    assert sorted(_v1_routes()) == sorted(REQUIRED_SCOPE)


@pytest.mark.parametrize(("method", "path"), sorted(REQUIRED_SCOPE))
async def test_route_without_key_is_401(client: httpx.AsyncClient, method: str, path: str) -> None:
    response = await client.request(method, _concrete(path), json={})
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(("method", "path"), sorted(REQUIRED_SCOPE))
async def test_route_with_unknown_key_is_401(
    client: httpx.AsyncClient, method: str, path: str
) -> None:
    headers = {"Authorization": "Bearer tdm_not-a-real-key"}
    response = await client.request(method, _concrete(path), json={}, headers=headers)
    assert response.status_code == 401


@pytest.mark.parametrize(("method", "path"), sorted(REQUIRED_SCOPE))
async def test_route_without_its_scope_is_403(
    client: httpx.AsyncClient, keys: Keys, method: str, path: str
) -> None:
    scope = REQUIRED_SCOPE[(method, path)]
    # A key holding every scope but the one needed (admin holds all, so it is never used here).
    lacking = {
        "read": keys.cms_write_only,
        "write": keys.cites_read,
        "approve": keys.cms_write_only,
    }.get(scope, keys.cites)
    response = await client.request(method, _concrete(path), json={}, headers=lacking)
    assert response.status_code == 403, response.text
    assert scope in response.json()["detail"]


async def test_revoked_key_stops_working(client: httpx.AsyncClient, keys: Keys) -> None:
    listed = (await client.get("/v1/api-keys", headers=keys.admin)).json()["items"]
    reader = next(k for k in listed if k["name"] == "cites-dashboard")
    assert (await client.get("/v1/activities", headers=keys.cites_read)).status_code == 200
    revoked = await client.post(f"/v1/api-keys/{reader['id']}/revoke", headers=keys.admin)
    assert revoked.status_code == 200
    assert revoked.json()["revoked_at"] is not None
    assert (await client.get("/v1/activities", headers=keys.cites_read)).status_code == 401


async def test_key_created_through_the_api_is_shown_once_and_works(
    client: httpx.AsyncClient, keys: Keys
) -> None:
    made = await client.post(
        "/v1/api-keys",
        json={"name": "cms-web", "secretariat": "CMS", "scopes": ["read"]},
        headers=keys.admin,
    )
    assert made.status_code == 201
    raw = made.json()["key"]
    assert raw.startswith("tdm_") and len(raw) > 40
    listed = (await client.get("/v1/api-keys", headers=keys.admin)).json()["items"]
    entry = next(k for k in listed if k["name"] == "cms-web")
    assert "key" not in entry and raw not in str(listed)
    assert raw.startswith(entry["prefix"])
    used = await client.get("/v1/secretariats", headers={"Authorization": f"Bearer {raw}"})
    assert used.status_code == 200
    listed = (await client.get("/v1/api-keys", headers=keys.admin)).json()["items"]
    assert next(k for k in listed if k["name"] == "cms-web")["last_used_at"] is not None


async def test_admin_key_cannot_belong_to_a_secretariat(
    client: httpx.AsyncClient, keys: Keys
) -> None:
    response = await client.post(
        "/v1/api-keys",
        json={"name": "odd", "secretariat": "CMS", "scopes": ["admin"]},
        headers=keys.admin,
    )
    assert response.status_code == 422


async def test_other_secretariats_objects_are_403(client: httpx.AsyncClient, keys: Keys) -> None:
    meeting = await create(
        client,
        "/v1/meetings",
        meeting_body(code="CMS StC99", secretariat="CMS", location="DE BON"),
        keys.cms,
    )
    cms_only = await create(
        client, "/v1/activities", activity_body(partner_secretariats=[]), keys.cms
    )
    for method, path, body in [
        ("PATCH", f"/v1/meetings/{meeting['id']}", {"title": "x"}),
        ("POST", f"/v1/meetings/{meeting['id']}/cancel", None),
        ("PATCH", f"/v1/activities/{cms_only['id']}", {"title": "x"}),
        ("DELETE", f"/v1/activities/{cms_only['id']}", None),
    ]:
        response = await client.request(method, path, json=body, headers=keys.cites)
        assert response.status_code == 403, (method, path, response.text)
        assert "CMS" in response.json()["detail"]
    # Nothing changed.
    again = (await client.get(f"/v1/activities/{cms_only['id']}", headers=keys.cms)).json()
    assert again["version"] == 1
    # Creating for another secretariat is refused too.
    response = await client.post("/v1/meetings", json=meeting_body(), headers=keys.cms)
    assert response.status_code == 403


async def test_partner_secretariat_may_edit_a_joint_activity(
    client: httpx.AsyncClient, keys: Keys
) -> None:
    joint = await create(client, "/v1/activities", activity_body(), keys.cms)
    response = await client.patch(
        f"/v1/activities/{joint['id']}", json={"status": "completed"}, headers=keys.cites
    )
    assert response.status_code == 200
    assert response.json()["status"] == "completed"


def test_cli_creates_lists_and_revokes_keys(process_env: dict[str, str]) -> None:
    def tandem(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "shared.cli", *args],
            env=process_env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    made = tandem(
        "keys", "create", "--name", "cli-made", "--secretariat", "CITES", "--scopes", "read,write"
    )
    assert made.returncode == 0, made.stderr
    raw = made.stdout.strip().splitlines()[-1]
    assert raw.startswith("tdm_")
    listed = tandem("keys", "list")
    assert "cli-made" in listed.stdout and raw not in listed.stdout
    bad = tandem("keys", "create", "--name", "x", "--secretariat", "NOPE", "--scopes", "read")
    assert bad.returncode != 0 and "NOPE" in bad.stderr
    revoked = tandem("keys", "revoke", "cli-made")
    assert revoked.returncode == 0
    assert "revoked" in tandem("keys", "list").stdout
    assert os.environ.get("TANDEM_NEVER_SET") is None


async def test_a_key_can_ask_who_it_is(client: httpx.AsyncClient, keys: Keys) -> None:
    mine = await client.get("/v1/api-keys/me", headers=keys.cites)
    assert mine.status_code == 200, mine.text
    body = mine.json()
    assert (body["name"], body["secretariat"], body["scopes"]) == (
        "cites-coordinator",
        "CITES",
        ["read", "write", "approve"],
    )
    assert "key" not in body and "prefix" not in body
    admin = (await client.get("/v1/api-keys/me", headers=keys.admin)).json()
    assert (admin["secretariat"], admin["scopes"]) == (None, ["admin"])
