"""examples/sync_activities.py against the API served by a real uvicorn process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.db import session_scope
from shared.embedded import free_port
from shared.feed import changefeed
from tests.factories import Keys, activity_body, create, meeting_body
from tests.servers import ROOT, start_process, stop_process, wait_for

SCRIPT = ROOT / "examples" / "sync_activities.py"


def _run(env: dict[str, str], directory: Path) -> str:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--dir", str(directory)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


async def _listed(client: httpx.AsyncClient) -> dict[str, dict[str, object]]:
    items = (await client.get("/v1/activities", params={"limit": 200})).json()["items"]
    # The feed carries an activity's own fields; a read adds species_resolved, derived from
    # the taxon registers.
    return {a["id"]: {k: v for k, v in a.items() if k != "species_resolved"} for a in items}


async def test_sync_script_copies_activities_then_only_what_changed(
    client: httpx.AsyncClient,
    keys: Keys,
    process_env: dict[str, str],
    tmp_path: Path,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    port = free_port()
    env = {**process_env, "API_HOST": "127.0.0.1", "API_PORT": str(port)}
    api = start_process("services.api", env, tmp_path / "api.log")
    base = f"http://127.0.0.1:{port}"
    try:

        def ready() -> bool:
            try:
                return httpx.get(f"{base}/readyz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        assert wait_for(ready, timeout=120), (tmp_path / "api.log").read_text()
        await create(client, "/v1/meetings", meeting_body(), keys.cites)  # not an activity
        made = [
            await create(client, "/v1/activities", activity_body(title=f"Activity {n}"), keys.cms)
            for n in range(3)
        ]
        key = keys.cites_read["Authorization"].removeprefix("Bearer ")
        sync_env = {**process_env, "TANDEM_URL": base, "TANDEM_API_KEY": key}
        data_dir = tmp_path / "site-data"
        api_client = httpx.AsyncClient(base_url=base, headers=keys.cites_read)

        assert _run(sync_env, data_dir) == "3 changes read, 3 activities held"
        copy = json.loads((data_dir / "activities.json").read_text())
        assert copy == await _listed(api_client)

        await client.patch(
            f"/v1/activities/{made[0]['id']}", json={"status": "completed"}, headers=keys.cms
        )
        await client.delete(f"/v1/activities/{made[1]['id']}", headers=keys.cms)
        await create(client, "/v1/activities", activity_body(title="Activity 3"), keys.cms)

        # Incremental: only the three new changes are read.
        assert _run(sync_env, data_dir) == "3 changes read, 3 activities held"
        copy = json.loads((data_dir / "activities.json").read_text())
        assert copy == await _listed(api_client)
        assert copy[made[0]["id"]]["status"] == "completed"
        assert made[1]["id"] not in copy

        assert _run(sync_env, data_dir) == "0 changes read, 3 activities held"

        # Left behind by retention: the script takes a full copy and carries on.
        await create(client, "/v1/activities", activity_body(title="Activity 4"), keys.cms)
        async with session_scope(session_factory) as session:
            await changefeed.sequence_pending(session)
        async with session_scope(session_factory) as session:
            await session.execute(text("UPDATE change SET at = now() - interval '90 days'"))
            assert await changefeed.prune(session, retention_days=30) > 0
        assert _run(sync_env, data_dir) == "0 changes read, 4 activities held"
        assert json.loads((data_dir / "activities.json").read_text()) == await _listed(api_client)
        await client.patch(
            f"/v1/activities/{made[2]['id']}", json={"status": "dropped"}, headers=keys.cms
        )
        assert _run(sync_env, data_dir) == "1 changes read, 4 activities held"
        await api_client.aclose()
    finally:
        stop_process(api)
