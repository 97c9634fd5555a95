"""Where a request's CPU goes: py-spy profiles of `python -m bench.api --profile DIR` in groups.

`python -m bench.profile DIR/get.txt [DIR/post.txt ...] [--us-per-request 346,880]` prints a
Markdown table: each sample counts in the first group, in the order below, that some frame of
its stack belongs to; with the CPU per request of the run (bench.api prints it), each share is
also given in microseconds.
"""

from __future__ import annotations

import argparse
import collections
from pathlib import Path

# (group, what a frame's "function (file:line)" contains), in the order samples are assigned.
GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("rate limits", ("services/api/ratelimit.py", "limits/")),
    ("enqueue of the jobs after the write (Redis)", ("shared/queue.py", "redis/")),
    ("PostgreSQL statements (asyncpg: send, wait, decode)", ("asyncpg/",)),
    (
        "the request's session: its turn, SQLAlchemy session, pool checkout, transaction",
        ("sqlalchemy/", "services/api/deps.py"),
    ),
    ("validation of the body (pydantic)", ("pydantic/", "pydantic_core/")),
    (
        "own code: services, rules, building and serialising the answer",
        ("shared/", "services/api/routers/", "services/api/conventions.py", "orjson"),
    ),
    ("the answer written to the socket (uvicorn's send)", ("RequestResponseCycle.send",)),
    # Only samples whose own frame is in the fast paths: every fast path's stack passes there.
    ("fast paths' own lines: matching, the key's scope (services/api/fastpath.py)", ()),
    ("FastAPI dependency solving", ("fastapi/dependencies/",)),
    (
        "FastAPI and Starlette otherwise (routing, request and response objects, layers)",
        (
            "fastapi/routing.py",
            "starlette/routing.py",
            "starlette/requests.py",
            "starlette/responses.py",
            "starlette/middleware/exceptions.py",
            "starlette/_exception_handler.py",
        ),
    ),
    (
        "edge middleware, its own lines (request id, headers, metrics)",
        ("services/api/middleware.py", "services/api/auth.py", "prometheus_client/"),
    ),
    ("uvicorn and httptools reading and parsing the request", ("uvicorn/",)),
)
FAST_PATH = "services/api/fastpath.py"
LOOP_LEAVES = ("Runner.run ", "asyncio_run ", "run ")
LOOP = "the event loop (uvloop: sockets, buffers, callbacks)"
REST = "FastAPI's outer layers and the rest"


def group_of(frames: list[str]) -> str:
    if frames[-1].startswith(LOOP_LEAVES):
        # The event loop's own work (uvloop, in C: sockets, buffers, callbacks), under the
        # frame that runs it.
        return LOOP
    for name, needles in GROUPS:
        if not needles:
            # Only the fast path's own lines: the leaf frame is in it.
            if FAST_PATH in frames[-1]:
                return name
            continue
        if any(needle in frame for frame in frames for needle in needles):
            return name
    return REST


def shares(path: Path) -> dict[str, float]:
    counts: collections.Counter[str] = collections.Counter()
    for line in path.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        if stack:
            counts[group_of(stack.split(";"))] += int(n)
    total = sum(counts.values()) or 1
    return {name: counts[name] / total for name in [*(g for g, _ in GROUPS), LOOP, REST]}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("profiles", nargs="+", type=Path, help="collapsed stacks from py-spy")
    p.add_argument("--us-per-request", default="", help="CPU per request of each run, e.g. 346,880")
    args = p.parse_args()
    us = [float(x) for x in args.us_per_request.split(",") if x]
    columns = [shares(path) for path in args.profiles]
    head = "| where |"
    for n, path in enumerate(args.profiles):
        head += f" {path.stem}: share |" + (f" {path.stem}: us |" if n < len(us) else "")
    print(head)
    print("|---|" + "---:|" * (head.count("|") - 2))
    for name in columns[0]:
        row = f"| {name} |"
        for n, column in enumerate(columns):
            row += f" {column[name]:.0%} |"
            if n < len(us):
                row += f" {column[name] * us[n]:,.0f} |"
        print(row)


if __name__ == "__main__":
    main()
