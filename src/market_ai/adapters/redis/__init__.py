"""Redis adapters: the Streams job queue, its durability guards, the client and the probe."""

from market_ai.adapters.redis.client import create_redis
from market_ai.adapters.redis.guards import RedisEvictionPolicyError, check_durability
from market_ai.adapters.redis.probe import RedisHealthProbe
from market_ai.adapters.redis.queue import RedisJobQueue

__all__ = [
    "RedisEvictionPolicyError",
    "RedisHealthProbe",
    "RedisJobQueue",
    "check_durability",
    "create_redis",
]
