"""Building the shared redis.asyncio client: bounded timeouts, short retries, bytes replies."""

from __future__ import annotations

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

# A blocking XREADGROUP must return before the socket read times out, with room for a slow reply.
BLOCK_HEADROOM_MS = 1000
MAX_BLOCK_MS = 2000
HEALTH_CHECK_INTERVAL_S = 15


def create_redis(url: str, *, timeout: float = 5.0) -> Redis:
    """A pooled client that fails fast on a dead Redis instead of hanging a request or a worker.

    Connect and read are both bounded by `timeout`; a refused or timed-out command is retried
    twice with jittered backoff (tens of milliseconds), so a blip is absorbed and an outage
    surfaces within about `3 x timeout` at worst, at once when the port is closed. RESP2 is
    pinned because every Redis-compatible service speaks it. Replies stay bytes: job ids and
    stream ids are decoded where they are parsed.
    """
    retry = Retry(
        ExponentialWithJitterBackoff(cap=0.5, base=0.05),
        retries=2,
        supported_errors=(RedisConnectionError, RedisTimeoutError),
    )
    client: Redis = Redis.from_url(
        url,
        socket_connect_timeout=timeout,
        socket_timeout=timeout,
        socket_keepalive=True,
        health_check_interval=HEALTH_CHECK_INTERVAL_S,
        retry=retry,
        # redis-py 5 retries only errors also listed here (6 and later read `retry` alone).
        retry_on_error=[RedisConnectionError, RedisTimeoutError],
        protocol=2,
        decode_responses=False,
    )
    return client


def block_limit_ms(client: Redis) -> int:
    """The longest BLOCK this client can wait for without its own socket timeout firing."""
    socket_timeout = client.connection_pool.connection_kwargs.get("socket_timeout")
    if socket_timeout is None:
        return MAX_BLOCK_MS
    limit = min(MAX_BLOCK_MS, int(float(socket_timeout) * 1000) - BLOCK_HEADROOM_MS)
    if limit < 100:  # noqa: PLR2004 - below this a receive loop would spin
        msg = f"socket_timeout {socket_timeout}s leaves no room for a blocking read: use >= 1.1s"
        raise ValueError(msg)
    return limit
