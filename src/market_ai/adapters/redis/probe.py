"""Redis readiness probe: reachable, and configured so the job queue cannot lose entries."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from market_ai.adapters.redis.guards import check_durability

if TYPE_CHECKING:
    from redis.asyncio import Redis


class RedisHealthProbe:
    """Ready when Redis answers PING and will not evict keys.

    An evicting Redis answers every command happily while it drops queued work, so reachability
    alone would report a broken queue as healthy. AOF warnings are the worker's to log at start,
    not a reason to take an instance out of rotation. The probe bounds itself in time (a hung
    Redis would otherwise hold it for the client's socket timeout and retries).
    """

    name = "redis"

    def __init__(self, client: Redis, *, timeout: float = 2.0) -> None:
        self._client = client
        self._timeout = timeout

    async def check(self) -> None:
        """Raise when Redis cannot answer within the timeout or may evict keys."""
        async with asyncio.timeout(self._timeout):
            await self._client.ping()
            await check_durability(self._client)
