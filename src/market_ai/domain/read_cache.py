"""Read-through caching of per-campaign reads that a write makes stale at once, everywhere.

Invalidation is by generation, not by deleting values: every key of a campaign carries the
campaign's current generation token, and a write replaces the token (after its commit).
Delete-after-write has a race a generation does not: a reader that loaded the old rows before
the commit can store them after the delete, and that stale value would then be served until
it expires. Here such a late fill lands under the old token, which no reader asks for again.
Values and tokens expire on their own, so nothing needs cleaning up.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from contextlib import suppress
from typing import Any, Final, TypeVar
from uuid import UUID, uuid4

from market_ai.domain.cache import Cache

log = logging.getLogger(__name__)
T = TypeVar("T")

KEY_VERSION: Final = "v1"  # raise when a cached type changes shape: old entries are ignored
_POLL_SECONDS: Final = 0.02


class ReadCache:
    """Serve a campaign's expensive reads from a `Cache`; the database stays the truth.

    A missing key is loaded once per process (single flight) and, across processes, by the
    holder of a short claim while the others poll for its value (falling back to their own
    load when the claim runs out). When the cache cannot answer, reads go to the database
    and the cache is left alone for `retry_after_seconds`, so an outage costs no latency.
    """

    def __init__(
        self,
        cache: Cache,
        *,
        ttl_seconds: float,
        claim_seconds: float = 2.0,
        retry_after_seconds: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._cache = cache
        self._ttl = ttl_seconds
        self._claim = claim_seconds
        self._retry_after = retry_after_seconds
        self._monotonic = monotonic
        self._down_until = 0.0
        self._flights: dict[str, asyncio.Task[Any]] = {}

    async def read(
        self, scope: UUID, name: str, kind: type[T], load: Callable[[], Awaitable[T]]
    ) -> T:
        """The value `load` would return for (scope, name), from the cache when it is fresh."""
        if self._monotonic() < self._down_until:
            return await load()
        try:
            generation = await self._cache.token(_generation_key(scope)) or "0"
            key = f"{KEY_VERSION}:{name}:{scope}:{generation}"
            hit = await self._cache.get(key, kind)
        except Exception as error:  # noqa: BLE001 - any cache failure means: ask the database
            self._trip(error)
            return await load()
        if hit is not None:
            return hit
        flight = self._flights.get(key)
        if flight is None:
            flight = asyncio.ensure_future(self._fill(key, kind, load))
            self._flights[key] = flight
            flight.add_done_callback(lambda _: self._flights.pop(key, None))
        result: T = await asyncio.shield(flight)
        return result

    async def invalidate(self, scope: UUID) -> None:
        """Make every cached read of `scope` stale; call it after the write committed.

        A failure is logged and swallowed: the write stands, and what was cached expires
        within the TTL (the one window where a reader may see the old value).
        """
        try:
            await self._cache.renew(_generation_key(scope), uuid4().hex, 2 * self._ttl)
        except Exception as error:  # noqa: BLE001 - a write must not fail on its cache
            log.warning("cache.invalidate_failed scope=%s error=%s", scope, type(error).__name__)

    async def _fill(self, key: str, kind: type[T], load: Callable[[], Awaitable[T]]) -> T:
        claim = f"{key}:claim"
        try:
            mine = await self._cache.claim(claim, self._claim)
        except Exception as error:  # noqa: BLE001
            self._trip(error)
            return await load()
        if not mine:
            return await self._wait_for(key, kind, load)
        try:
            value = await load()
            try:
                await self._cache.put(key, value, self._ttl)
            except Exception as error:  # noqa: BLE001
                self._trip(error)
            return value
        finally:
            with suppress(Exception):
                await self._cache.release(claim)

    async def _wait_for(self, key: str, kind: type[T], load: Callable[[], Awaitable[T]]) -> T:
        """Another process is loading this key: take its value, or load once its claim ran out."""
        deadline = self._monotonic() + self._claim
        while self._monotonic() < deadline:
            await asyncio.sleep(_POLL_SECONDS)
            try:
                hit = await self._cache.get(key, kind)
            except Exception as error:  # noqa: BLE001
                self._trip(error)
                break
            if hit is not None:
                return hit
        return await load()

    def _trip(self, error: Exception) -> None:
        if self._monotonic() >= self._down_until:
            log.warning("cache.unavailable error=%s", type(error).__name__)
        self._down_until = self._monotonic() + self._retry_after


def _generation_key(scope: UUID) -> str:
    return f"{KEY_VERSION}:generation:{scope}"
