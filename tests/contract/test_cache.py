"""The Cache contract, on the in-process cache and on a real Redis."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import date
from decimal import Decimal
from uuid import uuid4

import pytest

from market_ai.adapters.memory.cache import InMemoryCache
from market_ai.adapters.redis.cache import RedisCache, create_cache_redis
from market_ai.domain.cache import Cache
from market_ai.domain.metrics import DailyMetrics, summarise
from market_ai.domain.metrics_service import MetricsReport


@pytest.fixture(params=["memory", "redis"])
async def cache(request: pytest.FixtureRequest) -> AsyncIterator[Cache]:
    if request.param == "memory":
        yield InMemoryCache()
        return
    url = request.getfixturevalue("redis_url")
    redis_cache = RedisCache(create_cache_redis(url, timeout=1.0), prefix=f"test:{uuid4()}:")
    try:
        yield redis_cache
    finally:
        await redis_cache.aclose()


def _report() -> MetricsReport:
    row = DailyMetrics(date(2025, 1, 1), 1000, 10, 1, Decimal("12.50"), Decimal("40.00"))
    return MetricsReport(uuid4(), date(2025, 1, 1), date(2025, 1, 2), [row], summarise([row]))


async def test_a_value_comes_back_equal_and_typed(cache: Cache) -> None:
    report = _report()
    assert await cache.get("k", MetricsReport) is None
    await cache.put("k", report, 60)
    back = await cache.get("k", MetricsReport)
    assert back is not None
    assert back.summary == report.summary
    assert list(back.rows) == list(report.rows)
    assert back.rows[0].spend.as_tuple() == Decimal("12.50").as_tuple(), "exact decimals"


async def test_values_and_tokens_expire(cache: Cache) -> None:
    await cache.put("short", _report(), 0.05)
    await cache.renew("gen", "t1", 0.05)
    assert await cache.token("gen") == "t1"
    await asyncio.sleep(0.2)
    assert await cache.get("short", MetricsReport) is None
    assert await cache.token("gen") is None


async def test_a_token_is_replaced(cache: Cache) -> None:
    assert await cache.token("gen") is None
    await cache.renew("gen", "t1", 60)
    await cache.renew("gen", "t2", 60)
    assert await cache.token("gen") == "t2"


async def test_one_claim_at_a_time_until_released_or_expired(cache: Cache) -> None:
    assert await cache.claim("c", 60)
    assert not await cache.claim("c", 60)
    await cache.release("c")
    assert await cache.claim("c", 0.05)
    await asyncio.sleep(0.2)
    assert await cache.claim("c", 60), "a dead holder's claim runs out"
