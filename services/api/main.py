"""The API process: app factory and lifespan."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI
from fastapi_offline import FastAPIOffline
from starlette.routing import Mount, Route

from services.api import openapi, problems
from services.api.auth import KeyCache
from services.api.deps import refuse_control_characters, reject_unknown_query
from services.api.fastpath import FastPaths
from services.api.middleware import EdgeMiddleware, Metrics, RouteLabels
from services.api.ratelimit import RateLimiter
from services.api.routers import (
    activities,
    allocations,
    api_keys,
    batch,
    calendars,
    capacity_offers,
    changes,
    dashboard,
    forecast,
    health,
    matching,
    meetings,
    secretariats,
    stats,
    taxa,
    webhooks,
    workload_requests,
)
from shared.config import Settings, get_settings
from shared.db import create_engine, create_read_session_factory, create_session_factory
from shared.queue import lazy_queue

DESCRIPTION = """\
Tandem is the backend in which the CITES and CMS secretariats keep their joint activities
and lend each other ICT and staff support in times of high workload.

Every `/v1` route needs `Authorization: Bearer <api key>`. Errors are RFC 9457 problem
details (`application/problem+json`).
"""


def create_app(settings: Settings | None = None, *, fast_paths: bool = True) -> FastAPI:
    """Build the API application; connections are opened in the lifespan. Without
    `fast_paths`, FastAPI's routes answer every request (services/api/fastpath.py)."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(
            settings.require_database_url(),
            pool_size=settings.db_pool_size,
            application_name="tandem-api",
        )
        # GET and HEAD run on connections of their own, in autocommit (services/api/deps.py).
        read_engine = create_engine(
            settings.require_database_url(),
            pool_size=settings.db_pool_size,
            application_name="tandem-api-read",
            autocommit=True,
        )
        app.state.engine = engine
        app.state.read_engine = read_engine
        app.state.session_factory = create_session_factory(engine)
        app.state.read_session_factory = create_read_session_factory(read_engine)
        # As many requests hold a session as the pool has connections; the rest wait here in
        # arrival order. Waiting in the pool itself is not first come, first served: a new
        # request can take a connection handed to a woken waiter, which then queues again at
        # the back, and under 256 concurrent creates some requests waited past 5 s.
        app.state.write_gate = asyncio.Semaphore(settings.db_pool_size)
        app.state.read_gate = asyncio.Semaphore(settings.db_pool_size)
        # Lazy: the API starts and serves writes while Redis is down (the outbox keeps intent).
        app.state.queue = lazy_queue(settings.require_redis_url(), settings.queue_name)
        # Everything built so far (modules, models, routes, schemas) lives as long as the
        # process: keep it out of the cyclic GC, whose full passes over those ~130,000
        # objects paused every request in flight for ~90 ms.
        gc.freeze()
        try:
            yield
        finally:
            await app.state.queue.aclose()
            await app.state.rate_limiter.aclose()
            await read_engine.dispose()
            await engine.dispose()

    # Swagger UI and ReDoc served from the package: /docs works with no network.
    app = FastAPIOffline(
        title="Tandem",
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        # operationIds are the route functions' names: list_activities, upsert_request...
        generate_unique_id_function=lambda route: route.name,
        # Metrics are Prometheus's (services/api/middleware.py) and there is no tracing:
        # FastAPI's OpenTelemetry hooks off, so no request pays for asking whether they're on.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.settings = settings
    app.state.metrics = Metrics()
    labels = RouteLabels()
    app.state.key_cache = KeyCache(settings.api_key_cache_seconds)
    app.state.rate_limiter = RateLimiter(
        settings.redis_url,
        settings.queue_name,
        per_key=settings.rate_limit_per_key,
        per_address=settings.rate_limit_per_address,
        window=settings.rate_limit_window_seconds,
    )
    problems.install(app)
    if fast_paths:
        # Inside the edge: added first, so it runs after it.
        app.add_middleware(
            FastPaths, routes=activities.fast_routes, answered=app.state.metrics.fast_path
        )
    app.add_middleware(
        EdgeMiddleware,
        metrics=app.state.metrics,
        labels=labels,
        key_cache=app.state.key_cache,
        limiter=app.state.rate_limiter,
        max_concurrent=settings.max_concurrent_requests,
    )
    app.include_router(health.router)
    app.include_router(dashboard.router)
    app.mount("/dashboard/static", dashboard.static_files, name="dashboard-static")
    v1_routers = (
        secretariats.router,
        calendars.router,
        meetings.router,
        activities.router,
        api_keys.router,
        matching.router,
        workload_requests.router,
        capacity_offers.router,
        allocations.router,
        changes.router,
        batch.router,
        webhooks.router,
        stats.router,
        forecast.router,
        taxa.router,
    )
    for router in v1_routers:
        app.include_router(
            router,
            prefix="/v1",
            dependencies=[Depends(refuse_control_characters), Depends(reject_unknown_query)],
        )
    routes = openapi.routes_of(
        [("", health.router), ("", dashboard.router), *(("/v1", r) for r in v1_routers)]
    )
    for route in app.routes:
        # The app's own routes (the docs) and mounts (static files); the included routers'
        # routes by their full paths, in routing order.
        if isinstance(route, Mount):
            labels.add_mount(route.path)
        elif isinstance(route, Route):
            labels.add_route(route.path)
    for path, _method in routes:
        labels.add_route(path)
    build_document = app.openapi

    def exact_openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = build_document()
            openapi.unique_operation_ids(document)
            app.openapi_schema = openapi.refine(document, routes)
        return app.openapi_schema

    app.openapi = exact_openapi  # type: ignore[method-assign]
    return app
