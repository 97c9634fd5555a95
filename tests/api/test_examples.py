"""Every request example in the OpenAPI document is accepted by the server on the day it is
served: a generated client's first call, copied from the documentation, works."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from services.api.main import create_app
from shared.activities.schemas import EXAMPLE as ACTIVITY_EXAMPLE
from shared.config import Settings
from shared.db import session_scope
from shared.demo import demo_meetings, seed_demo
from shared.demo_history import history, year_end_closures
from shared.meetings.schemas import EXAMPLE as MEETING_EXAMPLE
from shared.support.allocations.schemas import AcceptBody, ReasonBody
from shared.support.requests.schemas import EXAMPLE as REQUEST_EXAMPLE
from tests.factories import Keys

DOCUMENT = create_app().openapi()
SCHEMAS = DOCUMENT["components"]["schemas"]
# The example webhook's host is example.org's, which resolves to a public address on the
# Internet but not in an offline test run: it is allow-listed here so resolution is skipped.
EXAMPLE_HOST = "cms.example.org"


def _example_of(operation: dict[str, Any]) -> dict[str, Any] | None:
    content = operation.get("requestBody", {}).get("content", {})
    schema = next(iter(content.values()), {}).get("schema", {})
    name = schema.get("$ref", "").rsplit("/", 1)[-1]
    examples = SCHEMAS.get(name, {}).get("examples")
    return examples[0] if examples else None


EXAMPLES = [
    (method, path, example)
    for path, item in DOCUMENT["paths"].items()
    for method, operation in item.items()
    if (example := _example_of(operation)) is not None
]
# Accepting or declining an allocation needs a matching run's proposal first: their examples
# are checked against the very models the routes validate their bodies with.
NEEDS_A_PROPOSAL = {
    "/v1/allocations/{allocation_id}/accept": AcceptBody,
    "/v1/allocations/{allocation_id}/decline": ReasonBody,
    "/v1/allocations/{allocation_id}/cancel": ReasonBody,
}


# Resources a secretariat owns (written with its own key); the rest is written by an admin.
OWNED = {"/v1/meetings", "/v1/activities", "/v1/workload-requests", "/v1/capacity-offers"}
# Path parameters other than the object's id, as the documentation's own examples name them.
PATH_VALUES = {
    "{source}": "docs-example",
    "{ext_id}": "example-1",
    "{code}": "CITES",
    "{locode}": "DE BON",
}


def _filled(path: str) -> str:
    for name, value in PATH_VALUES.items():
        path = path.replace(name, value)
    return path


@pytest.fixture
async def api(settings: Settings, engine: AsyncEngine) -> AsyncIterator[httpx.AsyncClient]:
    application = create_app(settings.model_copy(update={"webhook_allowed_hosts": EXAMPLE_HOST}))
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://tandem.test") as c:
            yield c


def _collection(path: str) -> str:
    return "/".join(path.split("/")[:3])


def _write_example(collection: str) -> dict[str, Any]:
    create = DOCUMENT["paths"].get(collection, {}).get("post")
    return (_example_of(create) if create else None) or {}


def _key(keys: Keys, body: dict[str, Any], collection: str) -> dict[str, str]:
    if collection not in OWNED:
        return keys.admin
    secretariat = body.get("secretariat") or body.get("lead_secretariat")
    return keys.cms if secretariat == "CMS" else keys.cites


async def _post(api: httpx.AsyncClient, keys: Keys, collection: str) -> dict[str, Any]:
    body = _write_example(collection)
    response = await api.post(collection, json=body, headers=_key(keys, body, collection))
    assert response.status_code == 201, (collection, response.text)
    result: dict[str, Any] = response.json()
    return result


def test_every_write_route_documents_an_example() -> None:
    documented = {(method, path) for method, path, _ in EXAMPLES}
    for path, item in DOCUMENT["paths"].items():
        for method in item:
            if method in {"put", "patch"} or (
                method == "post" and path.count("/") == 2 and ":" not in path
            ):
                assert (method, path) in documented, (method, path)


@pytest.mark.parametrize(("method", "path", "example"), EXAMPLES, ids=lambda v: str(v)[:60])
async def test_each_documented_example_is_accepted(
    api: httpx.AsyncClient, keys: Keys, method: str, path: str, example: dict[str, Any]
) -> None:
    if path in NEEDS_A_PROPOSAL:
        NEEDS_A_PROPOSAL[path].model_validate(example)
        return
    await _assert_accepted(api, keys, method, path, example)


def _years_from_now(years: int) -> date:
    today = date.today()
    return date(today.year + years, today.month, min(today.day, 28))


def test_no_documented_meeting_code_is_one_the_demo_names_in_any_year() -> None:
    """The demo's upcoming meetings are numbered by the year (`CITES SC80` in 2026, `SC81` in
    2027...): a documented code of that shape would be a 409 on a demo server one day."""
    documented = {MEETING_EXAMPLE["code"], *ACTIVITY_EXAMPLE["meeting_codes"]}
    documented.add(REQUEST_EXAMPLE["meeting_code"])
    for schema in ("MeetingWrite", "MeetingUpdate"):
        documented.update(SCHEMAS[schema]["properties"]["code"]["examples"])
    for year in range(2000, 2200):
        day = date(year, 6, 1)
        demo = {m["code"] for m in demo_meetings(day) + history(day)[0]}
        assert not documented & demo, (year, documented & demo)


DEMO_EXAMPLES = [e for e in EXAMPLES if e[1] not in NEEDS_A_PROPOSAL]


@pytest.mark.parametrize("years", [0, 1])
@pytest.mark.parametrize(("method", "path", "example"), DEMO_EXAMPLES, ids=lambda v: str(v)[:60])
async def test_each_documented_example_is_accepted_by_a_server_seeded_with_the_demo(
    api: httpx.AsyncClient,
    keys: Keys,
    session_factory: async_sessionmaker[AsyncSession],
    years: int,
    method: str,
    path: str,
    example: dict[str, Any],
) -> None:
    """`tandem seed-demo` run this year or the next (its upcoming meetings are numbered by the
    year) leaves no code, reference or day that a documented example would clash with."""
    async with session_scope(session_factory) as session:
        await seed_demo(session, _years_from_now(years))
    await _assert_accepted(api, keys, method, path, example)


async def _assert_accepted(
    api: httpx.AsyncClient, keys: Keys, method: str, path: str, example: dict[str, Any]
) -> None:
    collection = _collection(path)
    if collection in {"/v1/activities", "/v1/workload-requests"}:
        # Their examples are reported to the documented meeting.
        await _post(api, keys, "/v1/meetings")
    headers = _key(keys, _write_example(collection) or example, collection)
    if method == "post":
        response = await api.post(_filled(path), json=example, headers=headers)
    elif method == "put":
        response = await api.put(_filled(path), json=example, headers=headers)
    else:
        made = await _post(api, keys, collection)
        url = path.split("{")[0] + made["id"]
        response = await api.patch(
            url,
            json=example,
            headers={**headers, "Content-Type": "application/merge-patch+json"},
        )
    assert 200 <= response.status_code < 300, (method, path, example, response.text)


async def test_closure_example_is_accepted_where_the_year_end_is_closed_already(
    api: httpx.AsyncClient, keys: Keys
) -> None:
    """The closure example is a day to come, and not one of the year-end days the demo (and
    most secretariats) record, which a second closure of would be a 409."""
    path = "/v1/secretariats/{code}/closures"
    (example,) = [e for m, p, e in EXAMPLES if (m, p) == ("post", path)]
    assert date.fromisoformat(example["date"]) > date.today()
    for code, day, reason in year_end_closures(date.today()):
        if code == "CITES":
            body = {"date": day.isoformat(), "reason": reason}
            closed = await api.post(_filled(path), json=body, headers=keys.cites)
            assert closed.status_code == 201, closed.text
    response = await api.post(_filled(path), json=example, headers=keys.cites)
    assert response.status_code == 201, response.text
