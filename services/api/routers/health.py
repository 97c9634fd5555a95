"""Liveness, readiness and metrics: the operations routes (no key needed)."""

from __future__ import annotations

import asyncio

import orjson
from fastapi import APIRouter, Request
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.responses import Response

from services.api.problems import problem_response
from shared.health.service import migration_revision
from shared.migrate import head_revision

router = APIRouter(tags=["operations"])

_HEAD = head_revision()


@router.get("/healthz", summary="The process is alive")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


async def _check_database(request: Request) -> str | None:
    try:
        current = await migration_revision(request.app.state.engine)
    except Exception:
        return "database unreachable"
    if current != _HEAD:
        return f"database migrations not at head (at {current}, head is {_HEAD})"
    return None


async def _check_redis(request: Request) -> str | None:
    try:
        await asyncio.wait_for(request.app.state.queue.ping(), timeout=1)
    except Exception:
        return "degraded"
    return None


@router.get(
    "/readyz",
    summary="The database is reachable and migrations are at head (Redis may be degraded)",
    description="200 while the API can serve reads and writes. Redis only carries nudges to "
    "the worker (the outbox in PostgreSQL keeps the work), so Redis down is reported as "
    '`"redis": "degraded"` with status `"degraded"`, not as unready.',
    responses={503: {"description": "The database is down or behind; the problem says which"}},
)
async def readyz(request: Request) -> Response:
    db, redis = await asyncio.gather(_check_database(request), _check_redis(request))
    checks = {"database": db or "ok", "redis": redis or "ok"}
    if db:
        return problem_response(503, db, type_slug="not-ready", title="Not ready", checks=checks)
    return Response(
        orjson.dumps({"status": "degraded" if redis else "ready", "checks": checks}),
        media_type="application/json",
    )


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(request: Request) -> Response:
    return Response(
        generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST
    )
