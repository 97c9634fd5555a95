"""API key authentication with a short in-process cache, and scope dependencies."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from services.api.deps import SessionDep
from shared.errors import Unauthorized
from shared.keys import service as keys
from shared.policy import Principal, require_scope

bearer = HTTPBearer(auto_error=False, description="An API key: `tdm_...`")

# Last use is written at most this often per key, so reads stay reads.
TOUCH_INTERVAL = timedelta(seconds=60)


class KeyCache:
    """Keys checked recently, by hash: saves a query per request (revocation in this process
    clears it at once; other processes notice within API_KEY_CACHE_SECONDS)."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._entries: dict[str, tuple[Principal, float, datetime | None]] = {}

    def get(self, key_hash: str) -> tuple[Principal, datetime | None] | None:
        entry = self._entries.get(key_hash)
        if entry is None or entry[1] < time.monotonic():
            return None
        return entry[0], entry[2]

    def put(self, key_hash: str, principal: Principal, last_used: datetime | None) -> None:
        if self.ttl > 0:
            if len(self._entries) > 10_000:
                self._entries.clear()
            self._entries[key_hash] = (principal, time.monotonic() + self.ttl, last_used)

    def clear(self) -> None:
        self._entries.clear()


async def current_principal(
    request: Request,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    """The caller behind `Authorization: Bearer <key>`, or 401."""
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise Unauthorized("Missing API key: send 'Authorization: Bearer <key>'.")
    raw = credentials.credentials
    if len(raw) > 200:
        raise Unauthorized("Unknown or revoked API key.")
    cache: KeyCache = request.app.state.key_cache
    key_hash = keys.hash_key(raw)
    cached = cache.get(key_hash)
    if cached is None:
        found = await keys.find_principal(session, raw)
        if found is None:
            raise Unauthorized("Unknown or revoked API key.")
        cached = found
    principal, last_used = cached
    now = datetime.now(UTC)
    if last_used is None or now - last_used > TOUCH_INTERVAL:
        await keys.touch(session, principal.key_id)
        last_used = now
    cache.put(key_hash, principal, last_used)
    return principal


def _scoped(scope: str):  # type: ignore[no-untyped-def]
    # One dependency per route rather than two nested ones: FastAPI's per-request cost grows
    # with each dependency it solves.
    async def dependency(
        request: Request,
        session: SessionDep,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> Principal:
        principal = await current_principal(request, session, credentials)
        require_scope(principal, scope)
        return principal

    dependency.__name__ = f"key_with_{scope}_scope"
    return dependency


ReadKey = Annotated[Principal, Depends(_scoped("read"))]
WriteKey = Annotated[Principal, Depends(_scoped("write"))]
ApproveKey = Annotated[Principal, Depends(_scoped("approve"))]
AdminKey = Annotated[Principal, Depends(_scoped("admin"))]
