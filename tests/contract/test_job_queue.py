"""JobQueue contract: the same assertions on the in-memory queue and on Redis Streams."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol
from uuid import UUID, uuid4

import pytest

from market_ai.adapters.memory.job_queue import InMemoryJobQueue, InMemoryJobStream
from market_ai.adapters.redis.client import create_redis
from market_ai.adapters.redis.queue import RedisJobQueue
from market_ai.domain.job_queue import Delivery, JobQueue

IDLE_MS = 200
LEASE = IDLE_MS / 1000


class QueueUnderTest(JobQueue, Protocol):
    """The port plus the extras both adapters offer to the worker and /health/detailed."""

    async def renew_held(self, consumer: str, receipts: Sequence[str]) -> list[str]: ...
    async def live_worker_names(self) -> list[str]: ...
    async def retire(self, consumer: str) -> None: ...
    async def pending_count(self) -> int: ...
    async def stream_length(self) -> int: ...


# Both adapters must satisfy the port and the extras (checked by mypy).
_memory: QueueUnderTest = InMemoryJobQueue()
_redis_type: type[QueueUnderTest] = RedisJobQueue


class ManualClock:
    """Seconds that pass only when a test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Backend:
    """Opens queue objects on one fresh stream; a second object is a restarted worker."""

    open: Callable[[], QueueUnderTest]
    elapse: Callable[[float], Awaitable[None]]


@pytest.fixture(
    params=["memory", pytest.param("redis", marks=pytest.mark.integration)],
)
async def backend(request: pytest.FixtureRequest) -> AsyncIterator[Backend]:
    if request.param == "memory":
        clock = ManualClock()
        stream = InMemoryJobStream(clock)

        async def advance(seconds: float) -> None:
            clock.now += seconds

        yield Backend(lambda: InMemoryJobQueue(stream), advance)
        return
    client = create_redis(request.getfixturevalue("redis_url"))
    name = f"test-{uuid.uuid4().hex}"
    try:
        yield Backend(
            lambda: RedisJobQueue(client, stream=f"{name}:jobs", group=name, prefix=name),
            asyncio.sleep,
        )
    finally:
        await client.delete(
            f"{name}:jobs", f"{name}:workers", f"{name}:job-counters", f"{name}:job-entries"
        )
        await client.aclose()


async def take(queue: JobQueue, consumer: str, count: int = 10) -> list[Delivery]:
    return list(await queue.receive(consumer, count=count, block_ms=50))


async def test_publish_then_receive_delivers_each_id_once(backend: Backend) -> None:
    queue = backend.open()
    ids = [uuid4() for _ in range(3)]
    await queue.publish(ids)
    got = await take(queue, "a")
    assert [d.job_id for d in got] == ids
    assert [d.deliveries for d in got] == [1, 1, 1]
    assert len({d.receipt for d in got}) == 3
    assert await take(queue, "a") == []
    assert await take(queue, "b") == []


async def test_receive_without_blocking_returns_at_once_when_empty(backend: Backend) -> None:
    queue = backend.open()
    assert await queue.receive("a", count=10, block_ms=0) == []
    assert await queue.receive("a", count=0, block_ms=0) == []


async def test_blocked_receive_wakes_on_publish(backend: Backend) -> None:
    queue = backend.open()
    await take(queue, "a")  # past the own-pending replay, so the next call blocks
    waiting = asyncio.create_task(queue.receive("a", count=10, block_ms=1500))
    await asyncio.sleep(0.1)
    job = uuid4()
    await backend.open().publish([job])
    assert [d.job_id for d in await waiting] == [job]


async def test_unacked_entries_are_not_handed_to_another_consumer(backend: Backend) -> None:
    queue = backend.open()
    first, second = uuid4(), uuid4()
    await queue.publish([first, second])
    assert [d.job_id for d in await take(queue, "a", count=1)] == [first]
    assert [d.job_id for d in await take(queue, "b")] == [second]
    assert await take(queue, "c") == []
    assert await queue.pending_count() == 2


async def test_restarted_consumer_gets_its_own_pending_first(backend: Backend) -> None:
    before = backend.open()
    held = [uuid4() for _ in range(3)]
    await before.publish(held)
    assert len(await take(before, "a", count=3)) == 3
    newer = uuid4()
    await before.publish([newer])

    after = backend.open()  # same consumer name, new process
    first = await after.receive("a", count=2, block_ms=0)
    second = await after.receive("a", count=2, block_ms=0)
    assert [d.job_id for d in [*first, *second]] == held
    assert {d.deliveries for d in [*first, *second]} == {2}
    third = await after.receive("a", count=2, block_ms=0)
    assert [(d.job_id, d.deliveries) for d in third] == [(newer, 1)]


async def test_reclaim_waits_for_min_idle_and_renew_pushes_it_back(backend: Backend) -> None:
    queue = backend.open()
    job = uuid4()
    await queue.publish([job])
    [held] = await take(queue, "a")
    assert await queue.reclaim("b", min_idle_ms=2 * IDLE_MS, count=10) == []
    await backend.elapse(LEASE)
    await queue.renew("a", [held.receipt])
    await backend.elapse(LEASE)
    assert await queue.reclaim("b", min_idle_ms=2 * IDLE_MS, count=10) == []
    await backend.elapse(LEASE + 0.05)
    [taken] = await queue.reclaim("b", min_idle_ms=2 * IDLE_MS, count=10)
    assert (taken.job_id, taken.receipt, taken.deliveries) == (job, held.receipt, 2)


async def test_each_reclaim_counts_a_delivery_and_renew_does_not(backend: Backend) -> None:
    queue = backend.open()
    await queue.publish([uuid4()])
    [first] = await take(queue, "a")
    counts = [first.deliveries]
    for consumer in ("b", "c"):
        await backend.elapse(LEASE + 0.05)
        [again] = await queue.reclaim(consumer, min_idle_ms=IDLE_MS, count=10)
        counts.append(again.deliveries)
    assert await queue.renew_held("c", [first.receipt]) == [first.receipt]
    await backend.elapse(LEASE + 0.05)
    [last] = await queue.reclaim("d", min_idle_ms=IDLE_MS, count=10)
    assert [*counts, last.deliveries] == [1, 2, 3, 4]


async def test_renew_never_takes_back_a_reclaimed_entry(backend: Backend) -> None:
    queue = backend.open()
    await queue.publish([uuid4()])
    [held] = await take(queue, "a")
    await backend.elapse(LEASE + 0.05)
    assert len(await queue.reclaim("b", min_idle_ms=IDLE_MS, count=10)) == 1
    assert await queue.renew_held("a", [held.receipt, "not-an-id"]) == []
    assert await queue.renew_held("b", [held.receipt]) == [held.receipt]
    await queue.renew("a", [held.receipt])
    await backend.elapse(LEASE + 0.05)
    [taken] = await queue.reclaim("a", min_idle_ms=IDLE_MS, count=10)
    assert taken.deliveries == 3  # reclaimed from b, which never lost it to a's renew


async def test_reclaim_respects_count(backend: Backend) -> None:
    queue = backend.open()
    await queue.publish([uuid4() for _ in range(5)])
    assert len(await take(queue, "a")) == 5
    await backend.elapse(LEASE + 0.05)
    taken = [d for _ in range(3) for d in await queue.reclaim("b", min_idle_ms=IDLE_MS, count=2)]
    assert len(taken) == 5
    assert len({d.receipt for d in taken}) == 5


async def test_a_short_reclaim_has_examined_every_pending_entry(backend: Backend) -> None:
    # Fewer than `count` back means nothing idle was left unseen, wherever the scan resumed:
    # that is what bounds the time to reclaim a dead worker's entries.
    queue = backend.open()
    await queue.publish([uuid4() for _ in range(300)])
    held = [d for _ in range(3) for d in await take(queue, "a", count=100)]
    await backend.elapse(LEASE + 0.05)
    front = await queue.reclaim("b", min_idle_ms=IDLE_MS, count=2)
    assert [d.receipt for d in front] == [d.receipt for d in held[:2]]
    await backend.elapse(LEASE + 0.05)
    assert len(await queue.renew_held("a", [d.receipt for d in held])) == 298
    again = await queue.reclaim("b", min_idle_ms=IDLE_MS, count=5)
    assert [(d.receipt, d.deliveries) for d in again] == [(d.receipt, 3) for d in front]


async def test_ack_removes_the_entry_for_good(backend: Backend) -> None:
    queue = backend.open()
    done, open_job = uuid4(), uuid4()
    await queue.publish([done, open_job])
    got = {d.job_id: d for d in await take(queue, "a")}
    await queue.ack([got[done].receipt])
    assert (await queue.stream_length(), await queue.pending_count()) == (1, 1)
    await backend.elapse(LEASE + 0.05)
    assert [d.job_id for d in await queue.reclaim("b", min_idle_ms=IDLE_MS, count=10)] == [open_job]
    assert await take(backend.open(), "a") == []
    await queue.ack([got[open_job].receipt, got[open_job].receipt, "9-9", "junk"])
    assert (await queue.stream_length(), await queue.pending_count()) == (0, 0)
    await backend.elapse(LEASE + 0.05)
    assert await queue.reclaim("c", min_idle_ms=IDLE_MS, count=10) == []
    assert await take(backend.open(), "b") == []


async def test_publishing_an_id_twice_delivers_it_twice(backend: Backend) -> None:
    queue = backend.open()
    job = uuid4()
    await queue.publish([job])
    await queue.publish([job])
    got = await take(queue, "a")
    assert [d.job_id for d in got] == [job, job]
    assert got[0].receipt != got[1].receipt


async def test_competing_consumers_share_the_work_once(backend: Backend) -> None:
    queue = backend.open()
    ids = [uuid4() for _ in range(60)]

    async def consume(consumer: str) -> list[UUID]:
        seen: list[UUID] = []
        while got := await queue.receive(consumer, count=7, block_ms=200):
            seen.extend(d.job_id for d in got)
            await queue.ack([d.receipt for d in got])
        return seen

    workers = [asyncio.create_task(consume(f"w{n}")) for n in range(5)]
    await asyncio.sleep(0.05)
    await queue.publish(ids[:30])
    await queue.publish(ids[30:])
    seen = [job for batch in await asyncio.gather(*workers) for job in batch]
    assert sorted(seen) == sorted(ids)
    assert await queue.stream_length() == 0


async def test_heartbeats_expire(backend: Backend) -> None:
    queue = backend.open()
    assert await queue.live_workers() == 0
    await queue.heartbeat("short", ttl_seconds=LEASE)
    await queue.heartbeat("long", ttl_seconds=30)
    assert await queue.live_workers() == 2
    assert await backend.open().live_worker_names() == ["long", "short"]
    await backend.elapse(LEASE + 0.1)
    assert await queue.live_worker_names() == ["long"]
    await queue.heartbeat("short", ttl_seconds=30)
    assert await queue.live_workers() == 2
    await queue.retire("short")
    assert await queue.live_worker_names() == ["long"]


async def test_counters_add_up(backend: Backend) -> None:
    queue = backend.open()
    assert await queue.counters() == {}
    await queue.count("reclaimed")
    await queue.count("reclaimed", 2)
    await backend.open().count("dead")
    await queue.count("duplicate_suppressed", 0)
    assert await queue.counters() == {"reclaimed": 3, "dead": 1, "duplicate_suppressed": 0}


async def test_missing_names_only_the_ids_the_queue_no_longer_holds(backend: Backend) -> None:
    queue = backend.open()
    waiting, pending, acked, twice, never = (uuid4() for _ in range(5))
    await queue.publish([waiting, pending, acked, twice, twice])
    taken = {d.job_id: d for d in await take(queue, "a", count=3)}  # waiting stays unread
    assert set(taken) == {waiting, pending, acked}
    await queue.ack([taken[acked].receipt])
    assert await queue.missing([waiting, pending, acked, twice, never]) == {acked, never}
    assert await queue.missing([]) == set()
