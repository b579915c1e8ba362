"""Redis-only queue behaviour: lost groups, restarts, durability guards, probe, deletion."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator, Iterator
from uuid import uuid4

import pytest
from redis.asyncio import Redis
from redis.exceptions import RedisError
from structlog.testing import capture_logs

from market_ai.adapters.redis.client import create_redis
from market_ai.adapters.redis.guards import (
    AOF_OFF_WARNING,
    RedisEvictionPolicyError,
    check_durability,
)
from market_ai.adapters.redis.probe import RedisHealthProbe
from market_ai.adapters.redis.queue import RedisJobQueue
from tests.servers import RedisServer

pytestmark = pytest.mark.integration

NOEVICTION = {"maxmemory-policy": "noeviction"}


@pytest.fixture
def server() -> Iterator[RedisServer]:
    """A Redis of this test's own, since these tests flush, restart and reconfigure it."""
    with RedisServer(config=NOEVICTION) as redis_server:
        yield redis_server


@pytest.fixture
async def client(server: RedisServer) -> AsyncIterator[Redis]:
    redis_client = create_redis(server.url, timeout=2.0)
    yield redis_client
    await redis_client.aclose()


async def test_group_is_recreated_after_flushall(client: Redis) -> None:
    queue = RedisJobQueue(client)
    await queue.publish([uuid4()])
    [held] = await queue.receive("a", count=10, block_ms=100)
    blocked = asyncio.create_task(queue.receive("b", count=10, block_ms=1500))
    await asyncio.sleep(0.2)
    with capture_logs() as logs:
        await client.flushall()
        assert await blocked == []  # UNBLOCKED by the flush, recovered, then nothing to read
        assert await queue.pending_count() == 0
        assert await queue.reclaim("b", min_idle_ms=0, count=10) == []
        job = uuid4()
        await queue.publish([job])
        [again] = await queue.receive("a", count=10, block_ms=100)
    assert (again.job_id, again.deliveries) == (job, 1)
    assert "queue.group_recreated" in {entry["event"] for entry in logs}
    await queue.ack([held.receipt])  # a receipt from before the flush is harmless
    assert await queue.renew_held("a", [again.receipt]) == [again.receipt]


async def test_group_is_recreated_after_a_restart_without_aof(
    server: RedisServer, client: Redis
) -> None:
    queue = RedisJobQueue(client)
    await queue.publish([uuid4()])
    assert len(await queue.receive("a", count=10, block_ms=100)) == 1
    server.stop()
    server.start()
    assert await queue.stream_length() == 0  # the entry is gone: the reconciler's job now
    job = uuid4()
    await queue.publish([job])
    assert [d.job_id for d in await queue.receive("a", count=10, block_ms=100)] == [job]


async def test_pending_entries_survive_kill_with_aof() -> None:
    with RedisServer(config=NOEVICTION, appendonly=True) as server:
        client = create_redis(server.url, timeout=2.0)
        try:
            queue = RedisJobQueue(client)
            job = uuid4()
            await queue.publish([job])
            [held] = await queue.receive("a", count=10, block_ms=100)
            server.kill()
            server.start()
            await asyncio.sleep(0.15)
            [taken] = await RedisJobQueue(client).reclaim("b", min_idle_ms=100, count=10)
            assert (taken.job_id, taken.receipt, taken.deliveries) == (job, held.receipt, 2)
        finally:
            await client.aclose()


async def test_ack_deletes_entries_and_nothing_is_trimmed(client: Redis) -> None:
    queue = RedisJobQueue(client, stream="jobs")
    await queue.publish([uuid4() for _ in range(50)])
    held = await queue.receive("a", count=50, block_ms=100)
    assert await client.xlen("jobs") == 50
    await queue.ack([d.receipt for d in held[:10]])
    assert await client.xlen("jobs") == 40
    assert await client.xrange("jobs", held[0].receipt, held[0].receipt) == []
    await queue.publish([uuid4() for _ in range(3000)])
    assert await client.xlen("jobs") == 3040
    for delivery in held[10:]:
        assert await client.xrange("jobs", delivery.receipt, delivery.receipt) != []
    await asyncio.sleep(0.05)
    assert len(await queue.reclaim("b", min_idle_ms=10, count=100)) == 40


async def test_malformed_entries_are_logged_and_dropped(client: Redis) -> None:
    queue = RedisJobQueue(client, stream="jobs")
    await client.xadd("jobs", {"something": "else"})
    await client.xadd("jobs", {"job_id": "not-a-uuid"})
    job = uuid4()
    await queue.publish([job])
    with capture_logs() as logs:
        got = await queue.receive("a", count=10, block_ms=100)
    assert [d.job_id for d in got] == [job]
    assert [e["event"] for e in logs] == ["queue.malformed_entries_dropped"]
    assert await client.xlen("jobs") == 1
    assert await queue.pending_count() == 1


async def test_a_consumer_whose_pending_entry_was_deleted_skips_it(client: Redis) -> None:
    queue = RedisJobQueue(client, stream="jobs")
    await queue.publish([uuid4(), uuid4()])
    gone, kept = await queue.receive("a", count=10, block_ms=100)
    await client.xdel("jobs", gone.receipt)  # deleted behind the group's back
    [back] = await RedisJobQueue(client, stream="jobs").receive("a", count=10, block_ms=0)
    assert (back.receipt, back.deliveries) == (kept.receipt, 2)
    assert await queue.pending_count() == 1


async def test_durability_refuses_an_evicting_redis() -> None:
    with RedisServer(config={"maxmemory-policy": "allkeys-lru"}) as server:
        client = create_redis(server.url)
        try:
            with pytest.raises(RedisEvictionPolicyError, match=r"allkeys-lru.*noeviction"):
                await check_durability(client)
            with pytest.raises(RedisEvictionPolicyError):
                await RedisHealthProbe(client).check()
        finally:
            await client.aclose()


async def test_durability_warns_only_when_aof_is_off(client: Redis) -> None:
    assert await check_durability(client) == [AOF_OFF_WARNING]
    with RedisServer(config=NOEVICTION, appendonly=True) as server:
        aof_client = create_redis(server.url)
        try:
            assert await check_durability(aof_client) == []
        finally:
            await aof_client.aclose()


async def test_durability_reads_info_when_config_is_denied(
    server: RedisServer, client: Redis
) -> None:
    await client.acl_setuser(
        "app", enabled=True, passwords=["+secret"], commands=["+@all", "-config"], keys=["*"]
    )
    restricted = create_redis(server.url.replace("redis://", "redis://app:secret@"))
    try:
        assert await check_durability(restricted) == [AOF_OFF_WARNING]
        await client.config_set("maxmemory-policy", "volatile-ttl")
        with pytest.raises(RedisEvictionPolicyError, match="volatile-ttl"):
            await check_durability(restricted)
    finally:
        await restricted.aclose()


async def test_probe_fails_fast_when_redis_is_down(server: RedisServer, client: Redis) -> None:
    probe = RedisHealthProbe(client)
    await probe.check()
    server.stop()
    started = time.monotonic()
    with pytest.raises(RedisError):
        await probe.check()
    assert time.monotonic() - started < 2.5  # refused at once; retries take milliseconds


async def test_probe_gives_up_on_a_hung_redis(server: RedisServer, client: Redis) -> None:
    probe = RedisHealthProbe(client, timeout=0.5)
    await probe.check()
    process = server._process
    assert process is not None
    os.kill(process.pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            await probe.check()
        assert time.monotonic() - started < 1.5
    finally:
        os.kill(process.pid, signal.SIGCONT)


async def test_blocking_reads_stay_inside_the_socket_timeout(server: RedisServer) -> None:
    roomy = create_redis(server.url, timeout=2.0)
    tight = create_redis(server.url, timeout=1.0)
    try:
        queue = RedisJobQueue(roomy)
        assert await queue.receive("a", count=1, block_ms=60_000) == []  # capped at 1 s
        with pytest.raises(ValueError, match="socket_timeout"):
            RedisJobQueue(tight)
    finally:
        await roomy.aclose()
        await tight.aclose()


async def test_idle_consumers_of_dead_workers_leave_the_group(client: Redis) -> None:
    queue = RedisJobQueue(client)
    await queue.publish([uuid4(), uuid4()])
    [done] = await queue.receive("dead-done", count=1, block_ms=0)
    await queue.ack([done.receipt])
    assert len(await queue.receive("dead-holding", count=1, block_ms=0)) == 1
    await queue.receive("alive", count=1, block_ms=0)
    await queue.heartbeat("alive", ttl_seconds=30)
    await asyncio.sleep(0.3)
    assert await queue.forget_idle_consumers(min_idle_ms=200) == ["dead-done"]
    names = {info["name"] for info in await client.xinfo_consumers("market-ai:jobs", "workers")}
    assert names == {b"dead-holding", b"alive"}  # pending work stays; live workers stay
