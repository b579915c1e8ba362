"""Refusing a Redis that could silently drop queued jobs, and warning when it could lose them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from redis.exceptions import ResponseError

if TYPE_CHECKING:
    from redis.asyncio import Redis

SAFE_POLICY = "noeviction"
AOF_OFF_WARNING = (
    "AOF is off: a Redis restart loses queued entries; jobs are re-published from the database "
    "by the reconciler, but with a delay"
)


class RedisEvictionPolicyError(RuntimeError):
    """Redis may evict keys, so the job stream or its pending lists could vanish under load."""


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


async def _eviction_policy(client: Redis) -> str | None:
    """CONFIG GET when allowed; managed services often rename or deny CONFIG, but not INFO."""
    try:
        reply = await client.config_get("maxmemory-policy")
    except ResponseError:
        reply = {}
    for key, value in reply.items():
        if _text(key) == "maxmemory-policy":
            return _text(value)
    info = await client.info("memory")
    policy = info.get("maxmemory_policy")
    return None if policy is None else _text(policy)


async def check_durability(client: Redis) -> list[str]:
    """Raise unless Redis never evicts keys; return warnings about weaker persistence.

    Eviction is refused outright: an evicted stream or group loses pending entries without
    any error, and the worker would keep running on a queue that drops work. A missing AOF
    only delays jobs (the reconciler republishes from the database), so it is a warning.
    """
    policy = await _eviction_policy(client)
    if policy is None:
        raise RedisEvictionPolicyError(
            "Redis maxmemory-policy could not be read (CONFIG GET and INFO memory both "
            "failed); the job queue needs noeviction and will not run unverified"
        )
    if policy != SAFE_POLICY:
        raise RedisEvictionPolicyError(
            f"Redis maxmemory-policy is {policy}; the job queue needs noeviction: set "
            "`maxmemory-policy noeviction` (redis.conf, CONFIG SET, or your provider's "
            "settings), or queued jobs can be evicted under memory pressure"
        )
    persistence = await client.info("persistence")
    if _text(persistence.get("aof_enabled", "0")) != "1":
        return [AOF_OFF_WARNING]
    return []
