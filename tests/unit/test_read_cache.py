"""ReadCache: generations, single flight, claims across processes, and a cache that fails."""

from __future__ import annotations

import asyncio
from typing import TypeVar
from uuid import uuid4

from market_ai.adapters.memory.cache import InMemoryCache
from market_ai.domain.cache import Cache
from market_ai.domain.read_cache import ReadCache

T = TypeVar("T")


class Loader:
    """Counts loads; each returns the next number, after `gate` opens."""

    def __init__(self) -> None:
        self.calls = 0
        self.gate = asyncio.Event()
        self.gate.set()

    async def __call__(self) -> int:
        self.calls += 1
        await self.gate.wait()
        return self.calls


class FailingCache:
    """A cache whose every call raises, as a stopped Redis does; counts the attempts."""

    def __init__(self) -> None:
        self.calls = 0

    def _fail(self) -> ConnectionError:
        self.calls += 1
        return ConnectionError("cache down")

    async def get(self, key: str, kind: type[T]) -> T | None:
        del key, kind  # refused whatever was asked
        raise self._fail()

    async def put(self, key: str, value: object, ttl_seconds: float) -> None:
        del key, value, ttl_seconds  # refused whatever was asked
        raise self._fail()

    async def token(self, key: str) -> str | None:
        del key  # refused whatever was asked
        raise self._fail()

    async def renew(self, key: str, token: str, ttl_seconds: float) -> None:
        del key, token, ttl_seconds  # refused whatever was asked
        raise self._fail()

    async def claim(self, key: str, ttl_seconds: float) -> bool:
        del key, ttl_seconds  # refused whatever was asked
        raise self._fail()

    async def release(self, key: str) -> None:
        del key  # refused whatever was asked
        raise self._fail()


class SilentHolder(InMemoryCache):
    """Someone else holds every claim and never stores a value (a holder that died)."""

    async def claim(self, key: str, ttl_seconds: float) -> bool:
        del key, ttl_seconds  # held by someone else, always
        return False


class NoClaims(InMemoryCache):
    """Every claim succeeds: only the in-process single flight stands between loads."""

    async def claim(self, key: str, ttl_seconds: float) -> bool:
        del key, ttl_seconds  # granted to everyone
        return True


async def test_a_read_is_cached_until_its_campaign_is_invalidated() -> None:
    reads, load, scope = ReadCache(InMemoryCache(), ttl_seconds=60), Loader(), uuid4()
    assert await reads.read(scope, "report", int, load) == 1
    assert await reads.read(scope, "report", int, load) == 1
    assert await reads.read(uuid4(), "report", int, load) == 2, "another campaign, another key"
    await reads.invalidate(scope)
    assert await reads.read(scope, "report", int, load) == 3


async def test_concurrent_misses_in_one_process_load_once() -> None:
    reads, load, scope = ReadCache(NoClaims(), ttl_seconds=60), Loader(), uuid4()
    load.gate.clear()
    waiting = [asyncio.ensure_future(reads.read(scope, "report", int, load)) for _ in range(20)]
    await asyncio.sleep(0.01)
    load.gate.set()
    assert await asyncio.gather(*waiting) == [1] * 20
    assert load.calls == 1


async def test_processes_sharing_a_cache_load_a_hot_key_once() -> None:
    shared = InMemoryCache()  # what Redis is to two processes
    first, second = ReadCache(shared, ttl_seconds=60), ReadCache(shared, ttl_seconds=60)
    load, scope = Loader(), uuid4()
    load.gate.clear()
    readers = [
        asyncio.ensure_future(reads.read(scope, "report", int, load))
        for reads in (first, second)
        for _ in range(10)
    ]
    await asyncio.sleep(0.05)
    load.gate.set()
    assert await asyncio.gather(*readers) == [1] * 20
    assert load.calls == 1, "the second process waited for the claim holder's value"


async def test_a_claim_whose_holder_stores_nothing_ends_in_a_load() -> None:
    reads = ReadCache(SilentHolder(), ttl_seconds=60, claim_seconds=0.1)
    assert await reads.read(uuid4(), "report", int, Loader()) == 1


async def test_a_failing_cache_sends_reads_to_the_loader_and_writes_pass() -> None:
    failing = FailingCache()
    clock = [0.0]
    reads = ReadCache(failing, ttl_seconds=60, retry_after_seconds=1, monotonic=lambda: clock[0])
    load, scope = Loader(), uuid4()
    assert await reads.read(scope, "report", int, load) == 1
    asked = failing.calls
    assert await reads.read(scope, "report", int, load) == 2
    assert failing.calls == asked, "a cache that just failed is not asked again at once"
    clock[0] = 1.5
    assert await reads.read(scope, "report", int, load) == 3
    assert failing.calls == asked + 1, "asked again after retry_after"
    await reads.invalidate(scope)  # swallowed: the write it follows stands


def test_the_fakes_are_caches() -> None:
    caches: list[Cache] = [FailingCache(), SilentHolder(), NoClaims(), InMemoryCache()]
    assert len(caches) == 4
