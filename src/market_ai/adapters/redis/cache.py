"""Redis Cache: shared by every API instance and worker, so an invalidation is seen by all."""

from __future__ import annotations

from typing import Final, TypeVar

import msgspec
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

T = TypeVar("T")
PREFIX: Final = "market-ai:cache:"  # the domain adds its own key version after this


def create_cache_redis(url: str, *, timeout: float) -> Redis:
    """A client of its own: a short timeout and no retries, a cache miss beats a slow answer."""
    client: Redis = Redis.from_url(
        url,
        socket_connect_timeout=timeout,
        socket_timeout=timeout,
        retry=Retry(NoBackoff(), 0),
        retry_on_error=[],
        protocol=2,
        decode_responses=False,
    )
    return client


class RedisCache:
    """Values as MessagePack, decoded into the type the caller names (never pickle)."""

    def __init__(self, client: Redis, prefix: str = PREFIX) -> None:
        self._redis = client
        self._prefix = prefix

    async def get(self, key: str, kind: type[T]) -> T | None:
        """The value under `key` decoded as `kind`; None when absent or of an older shape."""
        raw = await self._redis.get(self._prefix + key)
        if raw is None:
            return None
        try:
            return msgspec.msgpack.decode(bytes(raw), type=kind)  # type: ignore[arg-type]
        except msgspec.ValidationError:
            return None  # written by another version of the code: a miss, not an error

    async def put(self, key: str, value: object, ttl_seconds: float) -> None:
        """Store `value` with an expiry (every key expires: Redis runs `noeviction`)."""
        data = msgspec.msgpack.encode(value)
        await self._redis.set(self._prefix + key, data, px=_millis(ttl_seconds))

    async def token(self, key: str) -> str | None:
        """The generation token under `key`."""
        raw = await self._redis.get(self._prefix + key)
        return None if raw is None else bytes(raw).decode()  # type: ignore[arg-type]

    async def renew(self, key: str, token: str, ttl_seconds: float) -> None:
        """Replace the token in one SET, so every instance sees the new generation at once."""
        await self._redis.set(self._prefix + key, token.encode(), px=_millis(ttl_seconds))

    async def claim(self, key: str, ttl_seconds: float) -> bool:
        """SET NX PX: one holder at a time, freed by expiry if the holder dies."""
        taken = await self._redis.set(self._prefix + key, b"1", nx=True, px=_millis(ttl_seconds))
        return bool(taken)

    async def release(self, key: str) -> None:
        """Drop the claim."""
        await self._redis.delete(self._prefix + key)

    async def aclose(self) -> None:
        """Close the client's connections."""
        await self._redis.aclose()


def _millis(seconds: float) -> int:
    return max(1, int(seconds * 1000))
