"""The Cache port: a shared store of computed reads, addressed by versioned keys."""

from __future__ import annotations

from typing import Protocol, TypeVar

T = TypeVar("T")


class Cache(Protocol):
    """Values, generation tokens and short claims; every method may raise when unreachable.

    Callers never let a raise reach a user: `ReadCache` turns it into a database read.
    """

    async def get(self, key: str, kind: type[T]) -> T | None:
        """The value stored under `key`, decoded as `kind`; None when absent or expired."""
        ...

    async def put(self, key: str, value: object, ttl_seconds: float) -> None:
        """Store `value` under `key` for `ttl_seconds`."""
        ...

    async def token(self, key: str) -> str | None:
        """The generation token stored under `key`; None when there is none."""
        ...

    async def renew(self, key: str, token: str, ttl_seconds: float) -> None:
        """Replace the generation token under `key` (what invalidation does)."""
        ...

    async def claim(self, key: str, ttl_seconds: float) -> bool:
        """Take a short exclusive claim on `key`; False when someone else holds it."""
        ...

    async def release(self, key: str) -> None:
        """Give a claim back before it expires."""
        ...
