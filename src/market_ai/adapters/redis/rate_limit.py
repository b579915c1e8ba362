"""Rate limiter on Redis: one Lua script per hit, so every instance shares one count."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Final

from redis.exceptions import RedisError

from market_ai.domain.errors import Unavailable
from market_ai.domain.rate_limit import Rate, RateDecision

if TYPE_CHECKING:
    from redis.asyncio import Redis

KEY_PREFIX: Final = "market-ai:rate:"

# INCR and the window's expiry in one script: Redis runs a script alone, so two instances
# can never both read "99" and both let a 100th request through (no read-then-write race).
# The expiry is set only when the key has none (its first hit), so hits never stretch a
# window; `ttl < 0` also mends a key that lost its expiry (a PERSIST by hand).
_HIT: Final = """
local hits = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {hits, ttl}
"""


class RedisRateLimiter:
    """Fixed windows per key in Redis, starting at a key's first hit.

    A hit is one EVALSHA round trip (redis-py loads the script again after a Redis restart
    or failover). Window time is Redis's own clock, so instances with skewed clocks agree.
    A hit that cannot finish within `timeout` raises Unavailable; after a failure the
    limiter does not ask Redis again for `cooldown` seconds, so an outage costs one slow
    request per process per cooldown rather than a timeout on every request.
    """

    def __init__(self, client: Redis, *, timeout: float = 1.0, cooldown: float = 1.0) -> None:
        self._script = client.register_script(_HIT)
        self._timeout = timeout
        self._cooldown = cooldown
        self._down_until = 0.0

    async def hit(self, key: str, rate: Rate) -> RateDecision:
        """Count one hit on `key` in Redis and decide against `rate`."""
        if time.monotonic() < self._down_until:
            raise Unavailable("rate-limit store unavailable (cooling down after a failure)")
        window_ms = max(int(rate.window_seconds * 1000), 1)
        try:
            async with asyncio.timeout(self._timeout):
                reply = await self._script(keys=[KEY_PREFIX + key], args=[window_ms])
        except (RedisError, OSError, TimeoutError) as error:
            self._down_until = time.monotonic() + self._cooldown
            reason = str(error) or type(error).__name__
            raise Unavailable(f"rate-limit store unavailable: {reason}") from error
        hits, ttl_ms = int(reply[0]), int(reply[1])
        return RateDecision(
            allowed=hits <= rate.limit,
            limit=rate.limit,
            remaining=max(rate.limit - hits, 0),
            reset_after=ttl_ms / 1000,
        )
