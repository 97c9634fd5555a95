"""The edge: keys before bodies, body limits, rate limits, load shedding, and nothing secret in
answers or logs."""

from __future__ import annotations

import asyncio
import io
import logging
import secrets
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI
from redis.asyncio import Redis
from sqlalchemy import event, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from services.api.auth import DIRECTORY_REFRESH, NEGATIVE_TTL
from services.api.main import create_app
from shared.config import Settings
from shared.db import create_engine
from shared.embedded import free_port
from shared.logging import JsonFormatter, RedactSecrets
from tests.factories import Keys, make_key

FOUR_POINT_EIGHT_MIB = int(4.8 * 1024 * 1024)


def _unknown_key() -> str:
    return "tdm_" + secrets.token_urlsafe(32)


@pytest.fixture
async def edge_app(settings: Settings, request: pytest.FixtureRequest) -> AsyncIterator[FastAPI]:
    """An app with the settings a test asks for (`@pytest.mark.parametrize` of `overrides`)."""
    overrides: dict[str, Any] = getattr(request, "param", {})
    changed = settings.model_copy(
        update={"queue_name": f"edge-{uuid.uuid4().hex[:8]}", **overrides}
    )
    application = create_app(changed)
    async with application.router.lifespan_context(application):
        yield application


def _client(app: FastAPI, host: str = "127.0.0.1") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(host, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://tandem.test")


class _RecordingBody:
    """An ASGI `receive` that hands out a large body in chunks and counts what was taken."""

    def __init__(self, size: int, chunk: int = 64 * 1024) -> None:
        self.left = size
        self.chunk = chunk
        self.read = 0

    async def __call__(self) -> dict[str, Any]:
        if self.left <= 0:
            await asyncio.sleep(3600)
        part = min(self.chunk, self.left)
        self.left -= part
        self.read += part
        return {"type": "http.request", "body": b"[" * part, "more_body": self.left > 0}


async def _asgi_call(
    app: FastAPI, path: str, headers: list[tuple[bytes, bytes]], receive: Any
) -> tuple[int, dict[bytes, bytes], bytes]:
    messages: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"tandem.test"), *headers],
        "client": ("127.0.0.1", 40000),
        "server": ("tandem.test", 80),
    }
    await app(scope, receive, send)
    start = next(m for m in messages if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
    return start["status"], dict(start["headers"]), body


async def test_batch_body_without_key_is_401_before_one_byte_is_read(app: FastAPI) -> None:
    body = _RecordingBody(FOUR_POINT_EIGHT_MIB)
    headers = [(b"content-type", b"application/json")]
    status, response_headers, content = await _asgi_call(
        app, "/v1/activities:batch-upsert", headers, body
    )
    assert status == 401
    assert body.read == 0
    assert response_headers[b"www-authenticate"].startswith(b"Bearer")
    assert orjson.loads(content)["status"] == 401


async def test_batch_body_with_unknown_key_is_401_before_one_byte_is_read(app: FastAPI) -> None:
    body = _RecordingBody(FOUR_POINT_EIGHT_MIB)
    headers = [(b"authorization", f"Bearer {_unknown_key()}".encode())]
    status, _, _ = await _asgi_call(app, "/v1/activities:batch-upsert", headers, body)
    assert status == 401
    assert body.read == 0


async def test_malformed_body_without_key_is_401(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v1/activities", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    malformed_header = await client.post(
        "/v1/activities", content=b"{}", headers={"Authorization": "Basic dXNlcjpwYXNz"}
    )
    assert malformed_header.status_code == 401


async def test_chunked_body_over_the_limit_is_413(client: httpx.AsyncClient, keys: Keys) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(20):
            yield b" " * (64 * 1024)

    response = await client.post(
        "/v1/activities",
        content=chunks(),
        headers={**keys.cites, "content-type": "application/json"},
    )
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert "1048576" in response.json()["detail"]


async def test_large_batch_needs_a_key_that_may_write(
    client: httpx.AsyncClient, keys: Keys
) -> None:
    two_mib = b'{"items": [' + b" " * (2 * 1024 * 1024) + b"]}"
    headers = {"content-type": "application/json"}
    read_only = await client.post(
        "/v1/activities:batch-upsert", content=two_mib, headers={**keys.cites_read, **headers}
    )
    assert read_only.status_code == 413
    writer = await client.post(
        "/v1/activities:batch-upsert", content=two_mib, headers={**keys.cites, **headers}
    )
    assert writer.status_code != 413


def _count_statements(*engines: AsyncEngine) -> list[str]:
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    for engine in engines:
        event.listen(engine.sync_engine, "before_cursor_execute", record)
    return seen


@pytest.mark.parametrize("edge_app", [{"api_key_cache_seconds": 5.0}], indirect=True)
async def test_flood_of_unknown_keys_does_not_reach_the_database(
    edge_app: FastAPI, keys: Keys
) -> None:
    statements = _count_statements(edge_app.state.engine, edge_app.state.read_engine)
    started = time.monotonic()
    async with _client(edge_app) as client:
        assert (await client.get("/v1/activities", headers=keys.cites_read)).status_code == 200
        before = len(statements)
        requests = 0
        for _ in range(150):
            headers = {"Authorization": f"Bearer {_unknown_key()}"}
            assert (await client.get("/v1/activities", headers=headers)).status_code == 401
            requests += 1
        same = {"Authorization": f"Bearer {_unknown_key()}"}
        for _ in range(150):
            assert (await client.get("/v1/activities", headers=same)).status_code == 401
            requests += 1
        elapsed = time.monotonic() - started
        made = len(statements) - before
    # At most one read of the issued keys per refresh interval, however many keys arrive.
    assert made <= 1 + elapsed / DIRECTORY_REFRESH
    assert made < requests / 10


async def test_same_unknown_key_is_looked_up_once_even_without_the_cache(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    statements = _count_statements(app.state.engine, app.state.read_engine)
    started = time.monotonic()
    same = {"Authorization": f"Bearer {_unknown_key()}"}
    for _ in range(100):
        assert (await client.get("/v1/activities", headers=same)).status_code == 401
    assert 1 <= len(statements) <= 1 + (time.monotonic() - started) / NEGATIVE_TTL


@pytest.mark.parametrize("edge_app", [{"rate_limit_per_key": 5}], indirect=True)
async def test_key_over_its_budget_gets_429_while_another_key_is_served(
    edge_app: FastAPI, keys: Keys, redis: Redis
) -> None:
    async with _client(edge_app) as client:
        flooding = [await client.get("/v1/activities", headers=keys.cites_read) for _ in range(8)]
        other = [await client.get("/v1/activities", headers=keys.cms) for _ in range(5)]
        metrics = (await client.get("/metrics")).text
    assert [r.status_code for r in flooding] == [200] * 5 + [429] * 3
    assert all(r.status_code == 200 for r in other)
    refused = flooding[-1]
    assert refused.headers["content-type"] == "application/problem+json"
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert refused.headers["ratelimit-policy"] == '"key";q=5;w=60'
    assert refused.headers["ratelimit"] == f'"key";r=0;t={refused.headers["retry-after"]}'
    assert 'tandem_rate_limited_total{reason="key"} 3.0' in metrics
    # Budgets live in this deployment's namespace of the shared Redis.
    queue_name = edge_app.state.settings.queue_name
    assert await redis.keys(f"{queue_name}:ratelimit*")
    for key in await redis.keys(f"{queue_name}:ratelimit*"):
        await redis.delete(key)


@pytest.mark.parametrize("edge_app", [{"rate_limit_per_key": 300}], indirect=True)
async def test_a_large_budget_taken_in_slices_still_holds_across_processes(
    edge_app: FastAPI, keys: Keys, redis: Redis
) -> None:
    # A second API process of the same deployment: the same Redis and namespace.
    twin = create_app(edge_app.state.settings)
    queue_name = edge_app.state.settings.queue_name
    async with (
        twin.router.lifespan_context(twin),
        _client(edge_app) as one,
        _client(twin) as two,
    ):
        first = await one.get("/v1/api-keys/me", headers=keys.cites_read)
        # The first request took a slice of 3 (1 % of 300) from Redis, not one request.
        counters = [
            int(v)
            for k in await redis.keys(f"{queue_name}:ratelimit*")
            if (v := await redis.get(k))
        ]
        assert counters == [3]
        statuses = [first.status_code]
        for _ in range(170):
            for client in (one, two):
                answer = await client.get("/v1/api-keys/me", headers=keys.cites_read)
                statuses.append(answer.status_code)
    served = statuses.count(200)
    # Each process may hold back what is left of its slice: at most 2 of 3 (1 % of 300).
    assert 300 - 2 * 2 <= served <= 300
    assert statuses.count(429) == len(statuses) - served
    assert statuses[-2:] == [429, 429]
    # Taken in slices: the budget's counters in Redis moved by 3 at a time.
    queue_name = edge_app.state.settings.queue_name
    counters = [
        int(v) for k in await redis.keys(f"{queue_name}:ratelimit*") if (v := await redis.get(k))
    ]
    assert counters and all(c % 3 == 0 for c in counters)
    for key in await redis.keys(f"{queue_name}:ratelimit*"):
        await redis.delete(key)


@pytest.mark.parametrize("edge_app", [{"rate_limit_per_address": 4}], indirect=True)
async def test_address_over_its_budget_gets_429_while_another_address_is_served(
    edge_app: FastAPI, keys: Keys, redis: Redis
) -> None:
    async with _client(edge_app, "192.0.2.1") as busy, _client(edge_app, "192.0.2.2") as calm:
        flooding = [await busy.get("/v1/activities") for _ in range(6)]
        served = await calm.get("/v1/activities", headers=keys.cites_read)
    assert [r.status_code for r in flooding] == [401] * 4 + [429] * 2
    assert flooding[-1].headers["ratelimit-policy"] == '"address";q=4;w=60'
    assert served.status_code == 200
    for key in await redis.keys(f"{edge_app.state.settings.queue_name}:ratelimit*"):
        await redis.delete(key)


@pytest.fixture
def unreachable_redis() -> str:
    return f"redis://127.0.0.1:{free_port()}/0"


async def test_without_redis_budgets_fall_back_to_the_process(
    settings: Settings, unreachable_redis: str, keys: Keys
) -> None:
    changed = settings.model_copy(update={"redis_url": unreachable_redis, "rate_limit_per_key": 3})
    application = create_app(changed)
    async with application.router.lifespan_context(application), _client(application) as client:
        answers = [await client.get("/v1/activities", headers=keys.cites_read) for _ in range(4)]
    assert [r.status_code for r in answers] == [200, 200, 200, 429]
    assert "retry-after" in answers[-1].headers


@pytest.mark.parametrize("edge_app", [{"max_concurrent_requests": 1}], indirect=True)
async def test_past_the_concurrency_limit_the_answer_is_503_at_once(
    edge_app: FastAPI, keys: Keys
) -> None:
    reading, release = asyncio.Event(), asyncio.Event()

    async def slow_body() -> dict[str, Any]:
        reading.set()
        await release.wait()
        return {"type": "http.request", "body": b"{}", "more_body": False}

    header = [(b"authorization", keys.cites["Authorization"].encode())]
    first = asyncio.create_task(_asgi_call(edge_app, "/v1/activities", header, slow_body))
    await reading.wait()
    async with _client(edge_app) as client:
        shed = await client.get("/v1/activities", headers=keys.cites_read)
        release.set()
        status, _, _ = await first
        after = await client.get("/v1/activities", headers=keys.cites_read)
        metrics = (await client.get("/metrics")).text
    assert shed.status_code == 503
    assert shed.headers["retry-after"] == "1"
    assert shed.headers["content-type"] == "application/problem+json"
    assert status == 422
    assert after.status_code == 200
    assert 'tandem_rate_limited_total{reason="overload"} 1.0' in metrics


@pytest.mark.parametrize("edge_app", [{"db_pool_size": 1, "db_wait_seconds": 0.2}], indirect=True)
async def test_a_request_waiting_too_long_for_the_database_gets_503(
    edge_app: FastAPI, keys: Keys
) -> None:
    gate: asyncio.Semaphore = edge_app.state.read_gate
    await gate.acquire()
    try:
        async with _client(edge_app) as client:
            response = await client.get("/v1/activities", headers=keys.cites_read)
    finally:
        gate.release()
    assert response.status_code == 503
    assert response.headers["retry-after"] == "2"


async def test_v1_answers_say_nosniff_and_no_store(client: httpx.AsyncClient, keys: Keys) -> None:
    listed = await client.get("/v1/activities", headers=keys.cites_read)
    refused = await client.get("/v1/activities")
    for response in (listed, refused):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["x-request-id"]
    assert (await client.get("/healthz")).headers.get("cache-control") != "no-store"


@pytest.fixture
def log_lines() -> AsyncIterator[io.StringIO]:
    """Every log line of the test, formatted and filtered as the processes do."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(JsonFormatter("api"))
    handler.addFilter(RedactSecrets())
    root = logging.getLogger()
    root.addHandler(handler)
    yield buffer  # type: ignore[misc]
    root.removeHandler(handler)


async def test_unhandled_error_is_500_with_request_id_and_a_log_line_without_its_text(
    app: FastAPI, client: httpx.AsyncClient, keys: Keys, log_lines: io.StringIO
) -> None:
    secret = "whsec_" + secrets.token_urlsafe(24)

    async def explode() -> None:
        raise RuntimeError(f"bound value {secret}")

    app.router.add_api_route("/v1/explode", explode, methods=["GET"])
    response = await client.get(
        "/v1/explode", headers={**keys.cites_read, "X-Request-ID": "trace-500"}
    )
    assert response.status_code == 500
    assert response.headers["x-request-id"] == "trace-500"
    assert response.headers["content-type"] == "application/problem+json"
    assert secret not in response.text
    lines = [orjson.loads(line) for line in log_lines.getvalue().splitlines()]
    logged = next(line for line in lines if line["msg"] == "unhandled error")
    assert logged["error_type"] == "builtins.RuntimeError"
    assert logged["route"] == "/v1/explode"
    assert logged["request_id"] == "trace-500"
    assert "whsec_" not in log_lines.getvalue()


async def test_database_errors_never_carry_bound_values(settings: Settings) -> None:
    secret = "whsec_" + secrets.token_urlsafe(24)
    engine = create_engine(settings.require_database_url(), pool_size=1)
    try:
        async with engine.connect() as conn:
            with pytest.raises(DBAPIError) as caught:
                await conn.execute(text("SELECT CAST(:secret AS text), 1 / 0"), {"secret": secret})
    finally:
        await engine.dispose()
    assert secret not in str(caught.value)
    assert "hidden" in str(caught.value)


def test_log_lines_mask_keys_and_webhook_secrets(log_lines: io.StringIO) -> None:
    key = "tdm_" + secrets.token_urlsafe(32)
    secret = "whsec_" + secrets.token_urlsafe(24)
    log = logging.getLogger("tandem.test")
    log.error("made %s", key, extra={"detail": f"secret={secret}"})
    try:
        raise ValueError(f"Key (secret)=({secret}) already exists")
    except ValueError:
        log.exception("failed")
    text_out = log_lines.getvalue()
    assert "made tdm_[redacted]" in text_out
    assert "whsec_[redacted]" in text_out
    assert key not in text_out
    assert secret not in text_out


async def test_webhook_with_nul_in_its_url_leaks_no_secret(
    client: httpx.AsyncClient, keys: Keys, log_lines: io.StringIO
) -> None:
    response = await client.post(
        "/v1/webhooks",
        json={"url": "https://hooks.example.org/a\x00b", "events": ["activity.changed"]},
        headers=keys.admin,
    )
    assert response.status_code != 201
    assert response.headers["x-request-id"]
    assert "whsec_" not in response.text
    assert "whsec_" not in log_lines.getvalue()
    assert "tdm_" not in log_lines.getvalue()


@pytest.mark.parametrize("edge_app", [{"api_key_cache_seconds": 5.0}], indirect=True)
async def test_key_made_by_another_process_works_within_a_second(
    edge_app: FastAPI, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    async with _client(edge_app) as client:
        unknown = {"Authorization": f"Bearer {_unknown_key()}"}
        assert (await client.get("/v1/activities", headers=unknown)).status_code == 401
        made = await make_key(session_factory, "made-by-the-cli", "CITES", ["read"])
        await client.get("/v1/activities", headers=made)
        await asyncio.sleep(DIRECTORY_REFRESH + 0.1)
        assert (await client.get("/v1/activities", headers=made)).status_code == 200
