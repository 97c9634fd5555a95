"""Operations routes, request ids, problem details for framework errors, body limit."""

from __future__ import annotations

import httpx

from services.api.main import create_app
from shared.config import Settings
from tests.factories import Keys


async def test_healthz_answers_without_dependencies(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_reports_ready_when_database_and_redis_are_up(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "redis": "ok"}


async def _readyz(settings: Settings) -> httpx.Response:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            return await c.get("/readyz")


async def test_readyz_stays_ready_with_redis_down_and_says_it_is_degraded(
    settings: Settings,
) -> None:
    response = await _readyz(settings.model_copy(update={"redis_url": "redis://127.0.0.1:1/0"}))
    assert response.status_code == 200
    assert response.json() == {
        "status": "degraded",
        "checks": {"database": "ok", "redis": "degraded"},
    }


async def test_readyz_is_unready_with_the_database_down_and_names_it_plainly(
    settings: Settings,
) -> None:
    down = "postgresql+asyncpg://postgres@127.0.0.1:1/nowhere"
    response = await _readyz(settings.model_copy(update={"database_url": down}))
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["checks"] == {"database": "database unreachable", "redis": "ok"}
    # No exception class names or addresses: the body may be seen by anyone.
    assert "Error" not in response.text
    assert "127.0.0.1" not in response.text


async def test_request_id_is_echoed_or_generated(client: httpx.AsyncClient) -> None:
    given = await client.get("/healthz", headers={"X-Request-ID": "sync-job-42"})
    assert given.headers["x-request-id"] == "sync-job-42"
    generated = await client.get("/healthz")
    assert len(generated.headers["x-request-id"]) == 32
    hostile = await client.get("/healthz", headers={"X-Request-ID": "a b\tc"})
    assert hostile.headers["x-request-id"] != "a b\tc"


async def test_metrics_count_requests_by_route_template(client: httpx.AsyncClient) -> None:
    await client.get("/healthz")
    await client.get("/healthz")
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    line = next(
        line
        for line in response.text.splitlines()
        if line.startswith("tandem_http_requests_total{")
        and 'route="/healthz"' in line
        and 'status="200"' in line
    )
    assert float(line.rsplit(" ", 1)[1]) == 2.0
    assert "tandem_http_request_duration_seconds_bucket" in response.text


async def test_metrics_label_full_templates_static_files_and_docs_and_show_the_process(
    client: httpx.AsyncClient, keys: Keys
) -> None:
    await client.get("/v1/activities", headers=keys.cites)
    await client.get("/v1/activities/00000000-0000-0000-0000-000000000000", headers=keys.cites)
    await client.get("/openapi.json")
    await client.get("/dashboard/static/dashboard.css")
    await client.get("/v1/no-such-collection")
    text = (await client.get("/metrics")).text
    routes = {
        line.split('route="', 1)[1].split('"', 1)[0]
        for line in text.splitlines()
        if line.startswith("tandem_http_requests_total{")
    }
    assert {
        "/v1/activities",
        "/v1/activities/{activity_id}",
        "/openapi.json",
        "/dashboard/static",
        "unmatched",
    } <= routes
    assert 'le="60.0"' in text
    for series in ("process_resident_memory_bytes", "process_open_fds", "python_info"):
        assert f"\n{series}" in text, series


async def test_requests_refused_at_the_edge_are_counted_under_their_route(
    client: httpx.AsyncClient, keys: Keys
) -> None:
    # No key: refused before routing, still labelled with the route it was meant for.
    await client.post("/v1/activities:batch-upsert", content=b"[]")
    await client.get("/v1/workload-requests/00000000-0000-0000-0000-000000000000/candidates")
    text = (await client.get("/metrics")).text
    assert (
        'tandem_http_requests_total{method="POST",route="/v1/activities:batch-upsert",'
        'status="401"}' in text
    )
    assert (
        'tandem_http_requests_total{method="GET",'
        'route="/v1/workload-requests/{request_id}/candidates",status="401"}' in text
    )


async def test_unknown_route_and_wrong_method_are_problems(
    client: httpx.AsyncClient, keys: Keys
) -> None:
    # Without a key even an unknown /v1 route is a 401: the key is checked first.
    assert (await client.get("/v1/nothing-here")).status_code == 401
    missing = await client.get("/v1/nothing-here", headers=keys.cites_read)
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert missing.json()["status"] == 404
    wrong = await client.delete("/healthz")
    assert wrong.status_code == 405
    assert wrong.headers["content-type"] == "application/problem+json"


async def test_body_over_one_mebibyte_is_refused(client: httpx.AsyncClient, keys: Keys) -> None:
    response = await client.post(
        "/v1/activities", content=b"x" * (1024 * 1024 + 1), headers=keys.cites
    )
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert "1048576" in response.json()["detail"]
