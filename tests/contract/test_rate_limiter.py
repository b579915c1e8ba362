"""RateLimiter contract: the same assertions on the in-process limiter and on Redis."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator

import pytest

from market_ai.adapters.memory.rate_limit import InMemoryRateLimiter
from market_ai.adapters.redis.client import create_redis
from market_ai.adapters.redis.rate_limit import RedisRateLimiter
from market_ai.domain.errors import Unavailable
from market_ai.domain.rate_limit import Rate, RateLimiter
from tests.servers import free_port

_memory: RateLimiter = InMemoryRateLimiter()  # both adapters satisfy the port (mypy checks)
_redis_type: type[RateLimiter] = RedisRateLimiter


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.integration)])
async def limiter(request: pytest.FixtureRequest) -> AsyncIterator[RateLimiter]:
    if request.param == "memory":
        yield InMemoryRateLimiter()
        return
    client = create_redis(request.getfixturevalue("redis_url"))
    try:
        yield RedisRateLimiter(client)
    finally:
        await client.aclose()


@pytest.fixture
def key() -> str:
    """A key no other test (or earlier run against the same Redis) has used."""
    return f"test:{uuid.uuid4().hex}"


async def test_exactly_limit_hits_pass_then_the_rest_are_denied(
    limiter: RateLimiter, key: str
) -> None:
    rate = Rate(limit=3, window_seconds=30)
    decisions = [await limiter.hit(key, rate) for _ in range(5)]
    assert [d.allowed for d in decisions] == [True, True, True, False, False]
    assert [d.remaining for d in decisions] == [2, 1, 0, 0, 0]
    assert all(d.limit == 3 for d in decisions)
    denied = decisions[-1]
    assert 0 < denied.reset_after <= 30
    assert 1 <= denied.reset_seconds <= 30


async def test_hits_do_not_stretch_the_window(limiter: RateLimiter, key: str) -> None:
    rate = Rate(limit=2, window_seconds=30)
    first = await limiter.hit(key, rate)
    later = [await limiter.hit(key, rate) for _ in range(3)]
    assert all(d.reset_after <= first.reset_after for d in later)


async def test_keys_are_independent(limiter: RateLimiter, key: str) -> None:
    rate = Rate(limit=1, window_seconds=30)
    assert (await limiter.hit(f"{key}:a", rate)).allowed
    assert not (await limiter.hit(f"{key}:a", rate)).allowed
    other = await limiter.hit(f"{key}:b", rate)
    assert other.allowed
    assert other.remaining == 0


async def test_a_new_window_starts_once_the_old_one_ends(limiter: RateLimiter, key: str) -> None:
    rate = Rate.parse("2/1s")
    results = [await limiter.hit(key, rate) for _ in range(3)]
    assert [d.allowed for d in results] == [True, True, False]
    await asyncio.sleep(results[-1].reset_after + 0.05)
    fresh = await limiter.hit(key, rate)
    assert fresh.allowed
    assert fresh.remaining == 1  # the count started again
    # and so did the window: a whole one is left (the old one had at most that, so comparing
    # the two would fail whenever all three hits landed in the same millisecond)
    assert fresh.reset_after == pytest.approx(rate.window_seconds, abs=0.01)


async def test_concurrent_hits_never_overshoot(limiter: RateLimiter, key: str) -> None:
    rate = Rate(limit=10, window_seconds=30)
    decisions = await asyncio.gather(*(limiter.hit(key, rate) for _ in range(40)))
    assert sum(d.allowed for d in decisions) == 10
    assert sorted(d.remaining for d in decisions if d.allowed) == list(range(10))


@pytest.mark.integration
async def test_unreachable_redis_is_unavailable_fast_and_then_cools_down() -> None:
    client = create_redis(f"redis://127.0.0.1:{free_port()}/0", timeout=0.5)
    limiter = RedisRateLimiter(client, timeout=2.0, cooldown=60.0)
    try:
        with pytest.raises(Unavailable, match="rate-limit store unavailable"):
            await limiter.hit("k", Rate(limit=1, window_seconds=1))
        started = time.monotonic()
        with pytest.raises(Unavailable, match="cooling down"):
            await limiter.hit("k", Rate(limit=1, window_seconds=1))
        assert time.monotonic() - started < 0.5  # no connection attempt while cooling down
    finally:
        await client.aclose()


@pytest.mark.integration
async def test_redis_windows_survive_a_script_cache_flush(redis_url: str, key: str) -> None:
    client = create_redis(redis_url)
    limiter = RedisRateLimiter(client)
    rate = Rate(limit=2, window_seconds=30)
    try:
        assert (await limiter.hit(key, rate)).allowed
        await client.script_flush()  # as after a Redis restart or failover: EVALSHA misses
        second = await limiter.hit(key, rate)
        assert second.allowed
        assert second.remaining == 0
        await client.delete(f"market-ai:rate:{key}")
    finally:
        await client.aclose()


@pytest.mark.parametrize(
    ("text", "limit", "seconds"),
    [
        ("100/minute", 100, 60),
        ("10/min", 10, 60),
        ("5/2s", 5, 2),
        ("1000 per hour", 1000, 3600),
        ("3/500ms", 3, 0.5),
        ("7/2 minutes", 7, 120),
        ("1/day", 1, 86_400),
    ],
)
def test_rates_read_as_operators_write_them(text: str, limit: int, seconds: float) -> None:
    assert Rate.parse(text) == Rate(limit=limit, window_seconds=seconds)


@pytest.mark.parametrize("text", ["", "lots", "0/minute", "10/fortnight", "-1/s", "10/0s"])
def test_nonsense_rates_are_refused_with_the_expected_form(text: str) -> None:
    with pytest.raises(ValueError, match=r"100/minute|at least 1|between 1 ms"):
        Rate.parse(text)
