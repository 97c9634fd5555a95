"""API keys: resolved once per request at the edge (services/api/middleware.py), before the
body is read, with short in-process caches; scope dependencies for the routes."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from shared.errors import Unauthorized
from shared.keys import service as keys
from shared.policy import Principal, require_scope

# Declares the scheme in OpenAPI; the edge has checked the header before any route runs.
bearer = HTTPBearer(auto_error=False, description="An API key: `tdm_...`")

# Last use is written at most this often per key, so reads stay reads.
TOUCH_INTERVAL = timedelta(seconds=60)
# Every key the API issues has this shape (shared/keys/service.py): anything else is refused
# without a look-up.
KEY_SHAPE = re.compile(r"^tdm_[A-Za-z0-9_-]{43}$")
# Refused hashes are remembered this long (and at most this many of them).
NEGATIVE_TTL = 5.0
NEGATIVE_MAX = 10_000
# The set of issued hashes is read again at most this often, and only when an unknown key
# arrives: a key made by another process works within this long, and a flood of random keys
# costs one query per interval instead of one per request.
DIRECTORY_REFRESH = 1.0

MISSING_KEY = "Missing API key: send 'Authorization: Bearer <key>'."
UNKNOWN_KEY = "Unknown or revoked API key."

SessionMaker = Callable[[], AbstractAsyncContextManager[AsyncSession]]


def bearer_token(headers: list[tuple[bytes, bytes]]) -> str | None:
    """The token of an `Authorization: Bearer` header, or None when there is none."""
    for name, value in headers:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            token = token.strip()
            if scheme.lower() != "bearer" or not token:
                return None
            return token
    return None


class KeyCache:
    """Keys checked recently, by hash: saves a query per request (revocation in this process
    clears it at once; other processes notice within API_KEY_CACHE_SECONDS). It also keeps
    refused hashes for a few seconds and, when caching is on, the set of every issued hash, so
    unknown keys are refused without reaching PostgreSQL."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._entries: dict[str, tuple[Principal, float, datetime | None]] = {}
        self._refused: dict[str, float] = {}
        self._issued: frozenset[str] | None = None
        self._issued_at = 0.0
        self._refresh_lock = asyncio.Lock()
        self.lookups = 0

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

    def refuse(self, key_hash: str) -> None:
        """Remember for a few seconds that `key_hash` is no key."""
        if len(self._refused) >= NEGATIVE_MAX:
            self._refused.clear()
        self._refused[key_hash] = time.monotonic() + NEGATIVE_TTL

    def refused(self, key_hash: str) -> bool:
        until = self._refused.get(key_hash)
        return until is not None and until >= time.monotonic()

    def issued(self, key_hash: str) -> None:
        """A key made in this process: it works at once."""
        self._refused.pop(key_hash, None)
        if self._issued is not None:
            self._issued = self._issued | {key_hash}

    def clear(self) -> None:
        self._entries.clear()
        self._refused.clear()
        self._issued = None

    async def _maybe_unknown(self, key_hash: str, sessions: SessionMaker) -> bool:
        """True when `key_hash` is surely not an issued key, by the set of issued hashes."""
        if self.ttl <= 0:
            return False
        if self._issued is None or time.monotonic() - self._issued_at > DIRECTORY_REFRESH:
            async with self._refresh_lock:
                # One refresh serves every request that waited for it.
                if self._issued is None or time.monotonic() - self._issued_at > DIRECTORY_REFRESH:
                    self.lookups += 1
                    async with sessions() as session:
                        self._issued = await keys.active_key_hashes(session)
                    self._issued_at = time.monotonic()
        return self._issued is not None and key_hash not in self._issued

    async def resolve(self, raw: str, sessions: SessionMaker) -> Principal | None:
        """The caller behind a plain key, or None (unknown, revoked or malformed)."""
        if not KEY_SHAPE.match(raw):
            return None
        key_hash = keys.hash_key(raw)
        cached = self.get(key_hash)
        if cached is None:
            # Not remembered as refused when only the set of issued hashes says so: that set
            # is read again within a second, and a key just made elsewhere must work then.
            if self.refused(key_hash) or await self._maybe_unknown(key_hash, sessions):
                return None
            self.lookups += 1
            async with sessions() as session:
                found = await keys.find_principal(session, raw)
            if found is None:
                self.refuse(key_hash)
                return None
            cached = found
        principal, last_used = cached
        now = datetime.now(UTC)
        if last_used is None or now - last_used > TOUCH_INTERVAL:
            async with sessions() as session:
                await keys.touch(session, principal.key_id)
            last_used = now
        self.put(key_hash, principal, last_used)
        return principal


def edge_principal(request: Request) -> Principal:
    """The caller the edge resolved for this request."""
    principal = getattr(request.state, "principal", None)
    if not isinstance(principal, Principal):
        raise Unauthorized(MISSING_KEY)
    return principal


def _scoped(scope: str):  # type: ignore[no-untyped-def]
    # Depends on `bearer` only so OpenAPI declares the scheme; the key was checked at the edge.
    async def dependency(
        request: Request,
        _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> Principal:
        principal = edge_principal(request)
        require_scope(principal, scope)
        return principal

    dependency.__name__ = f"key_with_{scope}_scope"
    return dependency


ReadKey = Annotated[Principal, Depends(_scoped("read"))]
WriteKey = Annotated[Principal, Depends(_scoped("write"))]
ApproveKey = Annotated[Principal, Depends(_scoped("approve"))]
AdminKey = Annotated[Principal, Depends(_scoped("admin"))]
