"""Liveness, readiness and metrics: the operations routes (no key needed)."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.responses import Response

from services.api.problems import problem_response
from shared.health.repository import migration_revision
from shared.migrate import head_revision

router = APIRouter(tags=["operations"])

_HEAD = head_revision()


@router.get("/healthz", summary="The process is alive")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


async def _check_database(request: Request) -> str | None:
    try:
        current = await migration_revision(request.app.state.engine)
    except Exception as exc:
        return f"database unreachable: {type(exc).__name__}"
    if current != _HEAD:
        return f"database migrations not at head (at {current}, head is {_HEAD})"
    return None


async def _check_redis(request: Request) -> str | None:
    try:
        await asyncio.wait_for(request.app.state.queue.ping(), timeout=2)
    except Exception as exc:
        return f"redis unreachable: {type(exc).__name__}"
    return None


@router.get(
    "/readyz",
    summary="The database and Redis are reachable and migrations are at head",
    responses={503: {"description": "A dependency is down; the problem says which"}},
)
async def readyz(request: Request) -> Response:
    db, redis = await asyncio.gather(_check_database(request), _check_redis(request))
    failures = {name: msg for name, msg in (("database", db), ("redis", redis)) if msg}
    if failures:
        return problem_response(
            503,
            "; ".join(failures.values()),
            type_slug="not-ready",
            title="Not ready",
            checks={"database": db or "ok", "redis": redis or "ok"},
        )
    return Response(
        b'{"status":"ready","checks":{"database":"ok","redis":"ok"}}', media_type="application/json"
    )


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(request: Request) -> Response:
    return Response(
        generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST
    )
