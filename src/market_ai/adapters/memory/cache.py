"""In-process Cache for the embedded default: one process, so nothing needs to be shared."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Final, TypeVar, cast

T = TypeVar("T")
MAX_ENTRIES: Final = 10_000  # past this, expired entries are swept, then the oldest dropped


class InMemoryCache:
    """Values are kept as the objects given (the domain's are frozen), with expiry times."""

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._monotonic = monotonic
        self._entries: dict[str, tuple[float, Any]] = {}

    async def get(self, key: str, kind: type[T]) -> T | None:  # noqa: ARG002 - kept as given
        """The live value under `key`, or None."""
        found = self._live(key)
        return None if found is None else cast("T", found)

    async def put(self, key: str, value: object, ttl_seconds: float) -> None:
        """Store `value` until `ttl_seconds` from now."""
        self._store(key, value, ttl_seconds)

    async def token(self, key: str) -> str | None:
        """The live generation token under `key`, or None."""
        found = self._live(key)
        return None if found is None else str(found)

    async def renew(self, key: str, token: str, ttl_seconds: float) -> None:
        """Replace the token under `key`."""
        self._store(key, token, ttl_seconds)

    async def claim(self, key: str, ttl_seconds: float) -> bool:
        """True when no live claim holds `key` (then this one does)."""
        if self._live(key) is not None:
            return False
        self._store(key, value=True, ttl_seconds=ttl_seconds)
        return True

    async def release(self, key: str) -> None:
        """Drop the claim."""
        self._entries.pop(key, None)

    def _live(self, key: str) -> Any:  # noqa: ANN401 - values are whatever was stored
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[0] <= self._monotonic():
            del self._entries[key]
            return None
        return entry[1]

    def _store(self, key: str, value: object, ttl_seconds: float) -> None:
        if len(self._entries) >= MAX_ENTRIES:
            now = self._monotonic()
            for stale in [k for k, (expires, _) in self._entries.items() if expires <= now]:
                del self._entries[stale]
            while len(self._entries) >= MAX_ENTRIES:
                del self._entries[next(iter(self._entries))]
        self._entries.pop(key, None)  # re-insert: insertion order is age order
        self._entries[key] = (self._monotonic() + ttl_seconds, value)
