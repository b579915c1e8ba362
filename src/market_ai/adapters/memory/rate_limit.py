"""In-process rate limiter: the embedded default, and the fake unit tests use."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Final

from market_ai.domain.rate_limit import Rate, RateDecision

SWEEP_EVERY_SECONDS: Final = 60.0


class InMemoryRateLimiter:
    """Fixed windows per key, counted in this process only.

    Right for one process (the embedded default). With several workers or instances each
    counts on its own, so N processes let N x the limit through: production sets REDIS_URL.
    Every hit runs without an `await`, so it is atomic on the event loop. Windows that have
    ended are swept now and then, so a stream of one-off clients cannot grow memory forever.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._windows: dict[str, tuple[int, float]] = {}  # key -> (hits, window ends at)
        self._next_sweep = clock() + SWEEP_EVERY_SECONDS

    async def hit(self, key: str, rate: Rate) -> RateDecision:
        """Count one hit; a key whose window has ended starts a new one with this hit."""
        now = self._clock()
        if now >= self._next_sweep:
            self._sweep(now)
        hits, ends_at = self._windows.get(key, (0, 0.0))
        if ends_at <= now:
            hits, ends_at = 0, now + rate.window_seconds
        hits += 1
        self._windows[key] = (hits, ends_at)
        return RateDecision(
            allowed=hits <= rate.limit,
            limit=rate.limit,
            remaining=max(rate.limit - hits, 0),
            reset_after=ends_at - now,
        )

    def _sweep(self, now: float) -> None:
        self._windows = {k: v for k, v in self._windows.items() if v[1] > now}
        self._next_sweep = now + SWEEP_EVERY_SECONDS
