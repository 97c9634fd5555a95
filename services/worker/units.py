"""The worker's transaction boundary: every task opens its units of work here.

A unit of work is one `session_scope` on the worker's session factory and Redis: it commits
when its block succeeds, then sends the jobs asked for during it (shared/queue.py); on an
error it rolls back and drops them. Tasks whose work is one transaction open one with
`unit_of_work`; services whose work is several transactions (a matching run's attempts,
webhook deliveries between HTTP calls) get `units_of_work` and open each one through it.
"""

from __future__ import annotations

import functools
from contextlib import AbstractAsyncContextManager
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import UnitOfWork, session_scope


def unit_of_work(ctx: dict[str, Any]) -> AbstractAsyncContextManager[AsyncSession]:
    """One transaction of the task: commit, then send the jobs asked for during it."""
    return session_scope(ctx["session_factory"], ctx.get("redis"))


def units_of_work(ctx: dict[str, Any]) -> UnitOfWork:
    """Opens the task's units of work, one per call (for services that commit in steps)."""
    return functools.partial(unit_of_work, ctx)
