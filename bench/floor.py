"""The floor: a bare Starlette + asyncpg app serving the benchmark's three requests with raw SQL.

No auth, no validation beyond JSON parsing, no transaction per request, no change feed: the
least work that answers the same requests with the same bodies. `python -m bench.floor`, with
FLOOR_DATABASE_URL and FLOOR_PORT, served by uvicorn with the API's own settings.
"""

from __future__ import annotations

import base64
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

COLUMNS = (
    "id, title, description, theme, species, lead_secretariat_code, partner_secretariat_codes,"
    " status, start_date, end_date, meeting_codes, tags, external_source, external_id, version,"
    " created_at, updated_at"
)
LIST_SQL = f"SELECT {COLUMNS} FROM activity ORDER BY created_at, id LIMIT $1"
GET_SQL = f"SELECT {COLUMNS} FROM activity WHERE id = $1"
INSERT_SQL = (
    "INSERT INTO activity (title, description, theme, species, lead_secretariat_code,"
    " partner_secretariat_codes, status, start_date, end_date, meeting_codes, tags)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8::text::date, $9::text::date, $10, $11)"
    f" RETURNING {COLUMNS}"
)


def _default(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        orjson.dumps(body, default=_default), status, headers, media_type="application/json"
    )


def _api(r: asyncpg.Record) -> dict[str, Any]:
    source = r["external_source"]
    return {
        "id": r["id"],
        "title": r["title"],
        "description": r["description"],
        "theme": r["theme"],
        "species": r["species"],
        "lead_secretariat": r["lead_secretariat_code"],
        "partner_secretariats": r["partner_secretariat_codes"],
        "status": r["status"],
        "start_date": r["start_date"],
        "end_date": r["end_date"],
        "meeting_codes": r["meeting_codes"],
        "tags": r["tags"],
        "external_ref": None if source is None else {"source": source, "id": r["external_id"]},
        "version": r["version"],
        "created_at": r["created_at"],
        "updated_at": r["updated_at"],
    }


async def list_activities(request: Request) -> Response:
    limit = int(request.query_params.get("limit", "50"))
    rows = await request.app.state.pool.fetch(LIST_SQL, limit + 1)
    cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        raw = orjson.dumps([last["created_at"].isoformat(), str(last["id"])])
        cursor = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    return _json({"items": [_api(r) for r in rows], "next_cursor": cursor})


async def get_activity(request: Request) -> Response:
    row = await request.app.state.pool.fetchrow(GET_SQL, uuid.UUID(request.path_params["id"]))
    if row is None:
        return _json({"status": 404}, 404)
    return _json(_api(row), headers={"ETag": f'"{row["version"]}"'})


async def create_activity(request: Request) -> Response:
    b = orjson.loads(await request.body())
    row = await request.app.state.pool.fetchrow(
        INSERT_SQL,
        b["title"],
        b.get("description", ""),
        b["theme"],
        b.get("species", []),
        b["lead_secretariat"],
        b.get("partner_secretariats", []),
        b.get("status", "planned"),
        b.get("start_date"),
        b.get("end_date"),
        b.get("meeting_codes", []),
        b.get("tags", []),
    )
    body = _api(row)
    headers = {"Location": f"/v1/activities/{body['id']}", "ETag": f'"{body["version"]}"'}
    return _json(body, 201, headers)


def create_app() -> Starlette:
    pool_size = int(os.environ.get("DB_POOL_SIZE", "10"))

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        dsn = os.environ["FLOOR_DATABASE_URL"].replace("postgresql+asyncpg://", "postgresql://")
        # The same number of connections the API's engine may open (pool plus overflow).
        app.state.pool = await asyncpg.create_pool(dsn, min_size=pool_size, max_size=2 * pool_size)
        try:
            yield
        finally:
            await app.state.pool.close()

    return Starlette(
        routes=[
            Route("/v1/activities", list_activities, methods=["GET"]),
            Route("/v1/activities", create_activity, methods=["POST"]),
            Route("/v1/activities/{id}", get_activity, methods=["GET"]),
            Route("/healthz", lambda r: Response("ok"), methods=["GET"]),
        ],
        lifespan=lifespan,
    )


def main() -> None:
    uvicorn.run(
        "bench.floor:create_app",
        factory=True,
        host="127.0.0.1",
        port=int(os.environ["FLOOR_PORT"]),
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_config=None,
        proxy_headers=False,
        timeout_graceful_shutdown=10,
    )


if __name__ == "__main__":
    main()
