#!/usr/bin/env python3
"""Keep a local JSON copy of Tandem's joint activities, fed by the change feed.

For a secretariat's web team: run it from cron, e.g. every five minutes,

    */5 * * * * cd /srv/site && TANDEM_URL=https://tandem.example.org \\
        TANDEM_API_KEY=tdm_... python3 sync_activities.py --dir /srv/site/data

and publish `activities.json` (an object: activity id -> activity, as the API shows it).
Needs Python 3.11+ and httpx; a key with the `read` scope is enough.

Each run reads the changes after the stored cursor, applies them, and stores the new
cursor, page by page: an interrupted run resumes where it stopped (a page applied twice
changes nothing, since versions are compared). If the stored cursor is older than what
the feed keeps (HTTP 410), it takes a full copy through /v1/activities and goes on from
the cursor the feed gave for that purpose. A second run started while one is going
exits at once.

Exit status: 0 done (or another run is going), 1 Tandem could not be reached or refused,
2 TANDEM_URL or TANDEM_API_KEY missing.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import httpx

PAGE = 500
RETRIES = 4


def request(client: httpx.Client, path: str, params: dict[str, Any]) -> httpx.Response:
    """GET with a few retries on network errors and 5xx / 429 (back-off 1, 2, 4 s)."""
    for attempt in range(RETRIES):
        try:
            response = client.get(path, params=params)
            if response.status_code < 500 and response.status_code != 429:
                return response
        except httpx.TransportError:
            if attempt == RETRIES - 1:
                raise
        time.sleep(2**attempt)
    return response


def apply(activities: dict[str, Any], change: dict[str, Any]) -> None:
    """Apply one change-feed entry (never going back to an older version)."""
    ident = change["id"]
    stored = activities.get(ident)
    if stored is not None and stored["version"] > change["version"]:
        return
    if change["op"] == "delete":
        activities.pop(ident, None)
    else:
        activities[ident] = change["data"]


def full_copy(client: httpx.Client) -> dict[str, Any]:
    """Every activity, through the paginated list."""
    activities: dict[str, Any] = {}
    params: dict[str, Any] = {"limit": 200}
    while True:
        response = request(client, "/v1/activities", params)
        response.raise_for_status()
        page = response.json()
        for activity in page["items"]:
            # Kept as the change feed shows it: species_resolved is derived from the taxon
            # registers when an activity is read, and the feed carries stored fields only.
            activity.pop("species_resolved", None)
            activities[activity["id"]] = activity
        if not page["next_cursor"]:
            return activities
        params["cursor"] = page["next_cursor"]


def write_atomically(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def sync(base_url: str, api_key: str, directory: Path) -> tuple[int, int]:
    """Bring the copy in `directory` up to date; (changes read, activities held)."""
    data_file, cursor_file = directory / "activities.json", directory / "cursor"
    activities: dict[str, Any] = (
        json.loads(data_file.read_text(encoding="utf-8")) if data_file.exists() else {}
    )
    cursor = cursor_file.read_text().strip() if cursor_file.exists() else None
    read = 0
    headers = {"Authorization": f"Bearer {api_key}", "User-Agent": "tandem-sync-activities/1"}
    with httpx.Client(base_url=base_url, headers=headers, timeout=30) as client:
        while True:
            params: dict[str, Any] = {"types": "activity", "limit": PAGE}
            if cursor:
                params["after"] = cursor
            response = request(client, "/v1/changes", params)
            if response.status_code == 410:
                # Too far behind: take a full copy, then follow the feed from where it said.
                print("cursor expired: taking a full copy", file=sys.stderr)
                resync = response.json()["resync_cursor"]
                activities = full_copy(client)
                cursor = resync
            else:
                response.raise_for_status()
                page = response.json()
                for change in page["items"]:
                    apply(activities, change)
                read += len(page["items"])
                cursor = page["next_cursor"]
            # The data first, then the cursor: a crash in between repeats a page, harmlessly.
            write_atomically(data_file, json.dumps(activities, indent=1, sort_keys=True))
            write_atomically(cursor_file, cursor + "\n")
            if response.status_code != 410 and len(page["items"]) < PAGE:
                return read, len(activities)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--dir",
        type=Path,
        default=Path(os.environ.get("SYNC_DIR", "tandem-sync")),
        help="where activities.json and the cursor are kept (default ./tandem-sync)",
    )
    args = parser.parse_args()
    base_url, api_key = os.environ.get("TANDEM_URL"), os.environ.get("TANDEM_API_KEY")
    if not base_url or not api_key:
        print("set TANDEM_URL and TANDEM_API_KEY", file=sys.stderr)
        return 2
    args.dir.mkdir(parents=True, exist_ok=True)
    with open(args.dir / ".lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print("another sync is running; nothing to do")
            return 0
        try:
            read, held = sync(base_url.rstrip("/"), api_key, args.dir)
        except httpx.HTTPError as exc:
            print(f"sync failed: {exc}", file=sys.stderr)
            return 1
    print(f"{read} changes read, {held} activities held")
    return 0


if __name__ == "__main__":
    sys.exit(main())
