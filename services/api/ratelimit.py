"""Request budgets per API key and per client address, shared by every API process through
Redis (`limits`, sliding window counters), with a per-process budget while Redis is away.

A process takes a large budget from Redis in slices of 1 % of its quota (one `hit` with that
cost) and spends each slice itself, so most requests make no round trip to Redis; a budget
under 100 requests is taken one request at a time. A slice is counted when it is taken, so
what a process has taken and not yet spent may make another refuse early, and requests spent
from it later are not counted again: either way by less than 1 % of the quota per process."""

from __future__ import annotations

import asyncio
import logging
import math
import time
from dataclasses import dataclass

from limits import RateLimitItem, RateLimitItemPerSecond
from limits.aio.storage import MemoryStorage, RedisStorage
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from limits.errors import StorageError
from redis.asyncio import ConnectionPool
from redis.exceptions import RedisError

log = logging.getLogger("tandem.ratelimit")

# A Redis that does not answer within this long is treated as away: a hung Redis must not
# slow requests down. While away, it is tried again after REDIS_RETRY seconds.
REDIS_TIMEOUT = 0.25
REDIS_RETRY = 5.0
# Slices held at once (one per client address or key lately seen); past it they are all
# dropped, and what they held is lost to their clients (under 1 % of a quota each).
MAX_SLICES = 10_000


@dataclass(frozen=True)
class Refusal:
    """A request over a budget: which one, and when to come back."""

    policy: str
    quota: int
    window: int
    retry_after: int

    def headers(self) -> dict[str, str]:
        """Retry-After and the IETF RateLimit fields (draft-ietf-httpapi-ratelimit-headers-10)."""
        return {
            "Retry-After": str(self.retry_after),
            "RateLimit-Policy": f'"{self.policy}";q={self.quota};w={self.window}',
            "RateLimit": f'"{self.policy}";r=0;t={self.retry_after}',
        }


class RateLimiter:
    """Sliding-window budgets: `per_key` and `per_address` requests per `window` seconds
    (0 turns a budget off). Keys in Redis are prefixed with the deployment's queue name, so
    deployments sharing a Redis do not share budgets."""

    def __init__(
        self, redis_url: str | None, namespace: str, per_key: int, per_address: int, window: int
    ) -> None:
        self.window = window
        self.key_item: RateLimitItem | None = (
            RateLimitItemPerSecond(per_key, window, namespace="key") if per_key else None
        )
        self.address_item: RateLimitItem | None = (
            RateLimitItemPerSecond(per_address, window, namespace="address")
            if per_address
            else None
        )
        self.pool: ConnectionPool | None = None
        self.shared: SlidingWindowCounterRateLimiter | None = None
        if redis_url:
            # Our own pool, so the lifespan can close it.
            self.pool = ConnectionPool.from_url(
                redis_url, socket_timeout=REDIS_TIMEOUT, socket_connect_timeout=REDIS_TIMEOUT
            )
            storage = RedisStorage(
                "async+" + redis_url,
                wrap_exceptions=True,
                implementation="redispy",
                key_prefix=f"{namespace}:ratelimit",
                connection_pool=self.pool,  # type: ignore[arg-type]
            )
            self.shared = SlidingWindowCounterRateLimiter(storage)
        self.local = SlidingWindowCounterRateLimiter(MemoryStorage())
        self.redis_away_until = 0.0
        # (budget, identity) -> requests left in the slice this process took
        self.slices: dict[tuple[str, str], int] = {}

    def policies(self) -> str:
        """The RateLimit-Policy field naming every budget in force."""
        parts = [
            f'"{item.namespace}";q={item.amount};w={self.window}'
            for item in (self.key_item, self.address_item)
            if item is not None
        ]
        return ", ".join(parts)

    async def check_address(self, address: str) -> Refusal | None:
        """Spend one request of the client address's budget; a Refusal when it is spent."""
        if self.address_item is None:
            return None
        return await self._hit(self.address_item, address)

    async def check_key(self, key_id: str) -> Refusal | None:
        """Spend one request of the API key's budget; a Refusal when it is spent."""
        if self.key_item is None:
            return None
        return await self._hit(self.key_item, key_id)

    async def _hit(self, item: RateLimitItem, identity: str) -> Refusal | None:
        if self.shared is not None and time.monotonic() >= self.redis_away_until:
            try:
                async with asyncio.timeout(REDIS_TIMEOUT * 2):
                    if await self._spend_shared(self.shared, item, identity):
                        return None
                    stats = await self.shared.get_window_stats(item, identity)
                return self._refusal(item, stats.reset_time)
            except (StorageError, RedisError, OSError, TimeoutError) as exc:
                self.redis_away_until = time.monotonic() + REDIS_RETRY
                self.slices.clear()
                log.warning(
                    "rate limits fall back to this process's budget",
                    extra={"error_type": type(exc).__name__, "retry_in_s": REDIS_RETRY},
                )
        if await self.local.hit(item, identity):
            return None
        stats = await self.local.get_window_stats(item, identity)
        return self._refusal(item, stats.reset_time)

    async def _spend_shared(
        self, shared: SlidingWindowCounterRateLimiter, item: RateLimitItem, identity: str
    ) -> bool:
        """One request of the shared budget: from this process's slice while it lasts, else
        a new slice from Redis (or a single request when a slice no longer fits)."""
        slot = (item.namespace, identity)
        left = self.slices.pop(slot, 0)
        if left > 0:
            if left > 1:
                self.slices[slot] = left - 1
            return True
        size = max(1, item.amount // 100)
        if size > 1 and await shared.hit(item, identity, cost=size):
            if len(self.slices) >= MAX_SLICES:
                self.slices.clear()
            self.slices[slot] = size - 1
            return True
        return await shared.hit(item, identity)

    def _refusal(self, item: RateLimitItem, reset_time: float) -> Refusal:
        retry_after = max(1, math.ceil(reset_time - time.time()))
        return Refusal(item.namespace, item.amount, self.window, min(retry_after, self.window))

    async def aclose(self) -> None:
        """Close the connections to Redis."""
        if self.pool is not None:
            await self.pool.disconnect()
