"""The RateLimiter port and its value objects: a rate, and the decision on one hit."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Final, Protocol

_UNITS: Final = {
    "ms": 0.001,
    "s": 1.0,
    "sec": 1.0,
    "second": 1.0,
    "m": 60.0,
    "min": 60.0,
    "minute": 60.0,
    "h": 3600.0,
    "hour": 3600.0,
    "d": 86_400.0,
    "day": 86_400.0,
}
_RATE: Final = re.compile(r"^\s*(\d+)\s*(?:/|per)\s*(\d+(?:\.\d+)?)?\s*([a-z]+)\s*$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Rate:
    """`limit` requests per `window_seconds`; written as "100/minute", "10/min" or "5/2s"."""

    limit: int
    window_seconds: float

    def __post_init__(self) -> None:
        if self.limit < 1:
            raise ValueError("a rate must allow at least 1 request per window")
        if not 0.001 <= self.window_seconds <= 86_400 * 31:  # noqa: PLR2004 - 1 ms to a month
            raise ValueError("a rate's window must be between 1 ms and 31 days")

    @classmethod
    def parse(cls, text: str) -> Rate:
        """Read the forms operators write; the message says what is expected."""
        match = _RATE.match(text)
        name = match.group(3).lower() if match else ""
        unit = _UNITS.get(name) or _UNITS.get(name.removesuffix("s"))  # minutes, hours
        if match is None or unit is None:
            raise ValueError(f"expected a rate such as 100/minute or 5/2s, got {text!r}")
        count = float(match.group(2)) if match.group(2) else 1.0
        return cls(limit=int(match.group(1)), window_seconds=count * unit)

    def __str__(self) -> str:
        window = f"{self.window_seconds:g}"
        return f"{self.limit}/{window}s"


@dataclass(frozen=True, slots=True)
class RateDecision:
    """The outcome of one hit: allowed or not, and what is left of the current window."""

    allowed: bool
    limit: int
    remaining: int
    reset_after: float  # seconds until the current window ends and the count starts afresh

    @property
    def reset_seconds(self) -> int:
        """Whole seconds to wait, rounded up (never 0 while denied), as HTTP headers want."""
        seconds = math.ceil(self.reset_after)
        return max(seconds, 0 if self.allowed else 1)


class RateLimiter(Protocol):
    """Counts hits per key in fixed windows that start at a key's first hit.

    Each `hit` is one atomic step in the store (count and read together), so concurrent
    callers in any number of processes sharing the store never let more than `rate.limit`
    hits through in one window. Raises `Unavailable` when the store cannot answer; what to
    do then (let the request through or not) is the caller's policy, not the store's.
    """

    async def hit(self, key: str, rate: Rate) -> RateDecision:
        """Count one hit on `key` and say whether it fits in `rate`."""
        ...
