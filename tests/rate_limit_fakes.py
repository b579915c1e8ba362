"""Test-only rate limiters: one whose store is down, one that records which buckets are hit."""

from __future__ import annotations

from market_ai.adapters.memory.rate_limit import InMemoryRateLimiter
from market_ai.domain.errors import Unavailable
from market_ai.domain.rate_limit import Rate, RateDecision


class FailingRateLimiter:
    """A limiter whose store never answers, as when Redis is down; counts the attempts."""

    def __init__(self) -> None:
        self.attempts = 0

    async def hit(self, key: str, rate: Rate) -> RateDecision:
        self.attempts += 1
        raise Unavailable(f"store down (asked for {key} at {rate})")


class RecordingRateLimiter:
    """The in-process limiter, remembering every key it was asked about, in order."""

    def __init__(self) -> None:
        self.inner = InMemoryRateLimiter()
        self.keys: list[str] = []

    async def hit(self, key: str, rate: Rate) -> RateDecision:
        self.keys.append(key)
        return await self.inner.hit(key, rate)
