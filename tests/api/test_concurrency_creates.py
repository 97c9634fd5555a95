"""Concurrent identical creates: one wins, every other one is a 409 naming the field."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.factories import Keys, activity_body, meeting_body
from tests.support.factories import offer_body, request_body

COPIES = 12


async def _twelve_at_once(
    client: httpx.AsyncClient, path: str, body: Callable[[int], dict[str, Any]], headers: Any
) -> list[httpx.Response]:
    """The same create sent twelve times at once (`body(n)` is the n-th copy's body)."""
    return await asyncio.gather(
        *(client.post(path, json=body(n), headers=headers) for n in range(COPIES))
    )


def _one_created_the_rest_conflict(responses: list[httpx.Response], field: str) -> None:
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [409] * (COPIES - 1), [r.text for r in responses]
    created = next(r.json() for r in responses if r.status_code == 201)
    for response in responses:
        if response.status_code == 409:
            assert response.headers["content-type"].startswith("application/problem+json")
            problem = response.json()
            assert problem["status"] == 409
            assert problem["field"] == field, problem
            assert field in problem["detail"]
            if field == "external_ref":
                # The reference's lock is held until the winner commits, so every other
                # create finds the stored object and names it (the unique index alone could
                # only say that the value is taken).
                assert problem["existing_id"] == created["id"], problem


@pytest.mark.parametrize(
    ("path", "make_body", "key", "field"),
    [
        ("/v1/meetings", lambda n: meeting_body(), "cites", "code"),
        (
            "/v1/meetings",
            lambda n: meeting_body(
                code=f"CITES SC{n}", external_ref={"source": "cites-cal", "id": "sc99"}
            ),
            "cites",
            "external_ref",
        ),
        (
            "/v1/activities",
            lambda n: activity_body(external_ref={"source": "cms-website", "id": "act-1"}),
            "cms",
            "external_ref",
        ),
        (
            "/v1/workload-requests",
            lambda n: request_body(external_ref={"source": "cites-intranet", "id": "REQ-1"}),
            "cites",
            "external_ref",
        ),
        (
            "/v1/capacity-offers",
            lambda n: offer_body(external_ref={"source": "cms-hr", "id": "OFF-1"}),
            "cms",
            "external_ref",
        ),
        (
            "/v1/secretariats",
            lambda n: {"code": "IPBES", "name": "IPBES Secretariat", "duty_station": "DE BON"},
            "admin",
            "code",
        ),
    ],
    ids=[
        "meetings-code",
        "meetings-ref",
        "activities-ref",
        "requests-ref",
        "offers-ref",
        "secretariats-code",
    ],
)
async def test_twelve_identical_creates_give_one_201_and_eleven_409s_naming_the_field(
    client: httpx.AsyncClient, keys: Keys, path: str, make_body: Any, key: str, field: str
) -> None:
    responses = await _twelve_at_once(client, path, make_body, getattr(keys, key))
    _one_created_the_rest_conflict(responses, field)


async def test_twelve_identical_creates_over_a_real_server_give_no_500(
    live_api: str, keys: Keys
) -> None:
    async with httpx.AsyncClient(base_url=live_api, timeout=30) as client:
        body = meeting_body(code="CMS CoP99", secretariat="CMS")
        meetings = await _twelve_at_once(client, "/v1/meetings", lambda n: body, keys.cms)
        _one_created_the_rest_conflict(meetings, "code")
        body = request_body(external_ref={"source": "cites-intranet", "id": "REQ-9"})
        requests = await _twelve_at_once(
            client, "/v1/workload-requests", lambda n: body, keys.cites
        )
        _one_created_the_rest_conflict(requests, "external_ref")
