"""The JobQueue port in process: the embedded default's queue and the fake unit tests run on."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter, deque
from dataclasses import dataclass
from typing import TYPE_CHECKING

from market_ai.domain.job_queue import Delivery

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from uuid import UUID


@dataclass(slots=True)
class _Pending:
    consumer: str
    delivered_at: float
    deliveries: int


def _seq(entry_id: str) -> int:
    return int(entry_id.partition("-")[0])


class InMemoryJobStream:
    """What Redis would hold, shared by every queue object in the process.

    Kept apart from `InMemoryJobQueue` so a new queue object on the same stream behaves like
    a restarted worker: its pending entries are still there. `clock` (seconds, monotonic)
    drives idle times and heartbeat expiry, so tests can move time without sleeping.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.entries: dict[str, UUID] = {}  # every unacked entry
        self.fresh: deque[str] = deque()  # never handed out, oldest first
        self.pending: dict[str, _Pending] = {}  # handed out, unacked; id order
        self.heartbeats: dict[str, float] = {}  # consumer -> expiry on `clock`
        self.counters: Counter[str] = Counter()
        self._waiters: set[asyncio.Future[None]] = set()
        self._last = 0

    def append(self, job_id: UUID) -> None:
        """Add an entry with the next id and wake every blocked receive."""
        self._last += 1
        entry_id = f"{self._last}-0"
        self.entries[entry_id] = job_id
        self.fresh.append(entry_id)
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def wait(self, seconds: float) -> None:
        """Sleep until the next append or `seconds`, whichever is first.

        A future per wait rather than a shared Condition: it binds to whichever event loop is
        running, so a stream built before the loop (a container singleton) still works.
        """
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.add(waiter)
        try:
            async with asyncio.timeout(seconds):
                await waiter
        except TimeoutError:
            pass
        finally:
            self._waiters.discard(waiter)


class InMemoryJobQueue:
    """At-least-once delivery in process, with the same rules as the Redis Streams queue.

    Every method runs without awaiting between reading and changing the stream, so any number
    of asyncio tasks may share it. `deliveries` counts like Redis: 1 when fresh, +1 when the
    owner re-reads it after a restart or another consumer reclaims it; renew leaves it as is.
    """

    def __init__(self, stream: InMemoryJobStream | None = None) -> None:
        self.stream = InMemoryJobStream() if stream is None else stream
        self._replayed: set[str] = set()  # consumers done re-reading their own pending
        self._replay_from: dict[str, int] = {}  # consumer -> last pending seq re-read so far

    async def publish(self, job_ids: Sequence[UUID]) -> None:
        """Append each id; the same id twice makes two entries."""
        for job_id in job_ids:
            self.stream.append(job_id)

    async def receive(self, consumer: str, *, count: int, block_ms: int) -> Sequence[Delivery]:
        """Own pending entries first (once per queue object), then fresh ones, waiting if none."""
        if count <= 0:
            return []
        if consumer not in self._replayed:
            replayed = self._replay(consumer, count)
            if replayed or consumer not in self._replayed:
                return replayed
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(block_ms, 0) / 1000
        while True:
            taken = self._take_fresh(consumer, count)
            remaining = deadline - loop.time()
            if taken or remaining <= 0:
                return taken
            await self.stream.wait(remaining)

    async def reclaim(self, consumer: str, *, min_idle_ms: int, count: int) -> Sequence[Delivery]:
        """Take over pending entries idle for at least `min_idle_ms`, oldest first."""
        now = self.stream.clock()
        claimed: list[Delivery] = []
        for entry_id, pending in self.stream.pending.items():
            if len(claimed) >= count:
                break
            if (now - pending.delivered_at) * 1000 >= min_idle_ms:
                claimed.append(self._redeliver(entry_id, pending, consumer, now))
        return claimed

    async def renew(self, consumer: str, receipts: Sequence[str]) -> None:
        """Reset the idle time of the entries `consumer` still owns."""
        await self.renew_held(consumer, receipts)

    async def renew_held(self, consumer: str, receipts: Sequence[str]) -> list[str]:
        """Renew like `renew`, and return the receipts still held: the rest were lost."""
        now = self.stream.clock()
        held: list[str] = []
        for receipt in receipts:
            pending = self.stream.pending.get(receipt)
            if pending is not None and pending.consumer == consumer:
                pending.delivered_at = now
                held.append(receipt)
        return held

    async def ack(self, receipts: Sequence[str]) -> None:
        """Forget the entries for good (a never-delivered one is skipped when its turn comes)."""
        for receipt in receipts:
            self.stream.entries.pop(receipt, None)
            self.stream.pending.pop(receipt, None)

    async def missing(self, job_ids: Sequence[UUID]) -> set[UUID]:
        """Ids no unacked entry carries."""
        present = set(self.stream.entries.values())
        return {job_id for job_id in job_ids if job_id not in present}

    async def heartbeat(self, consumer: str, *, ttl_seconds: float) -> None:
        """Record the consumer's expiry."""
        self.stream.heartbeats[consumer] = self.stream.clock() + ttl_seconds

    async def live_workers(self) -> int:
        """Count consumers whose heartbeat has not expired."""
        return len(await self.live_worker_names())

    async def live_worker_names(self) -> list[str]:
        """Names of the consumers whose heartbeat has not expired (expired ones are pruned)."""
        now = self.stream.clock()
        beats = self.stream.heartbeats
        for name in [name for name, expiry in beats.items() if expiry <= now]:
            del beats[name]
        return sorted(beats)

    async def forget_idle_consumers(self, *, min_idle_ms: int) -> list[str]:  # noqa: ARG002
        """Nothing to forget: this stream keeps no consumer registry."""
        return []

    async def retire(self, consumer: str) -> None:
        """Drop a consumer's heartbeat at a clean shutdown."""
        self.stream.heartbeats.pop(consumer, None)

    async def count(self, counter: str, amount: int = 1) -> None:
        """Add to a shared counter."""
        self.stream.counters[counter] += amount

    async def counters(self) -> Mapping[str, int]:
        """Every shared counter."""
        return dict(self.stream.counters)

    async def pending_count(self) -> int:
        """Entries handed out and not yet acked."""
        return len(self.stream.pending)

    async def stream_length(self) -> int:
        """Unfinished entries: waiting plus pending."""
        return len(self.stream.entries)

    def _replay(self, consumer: str, count: int) -> list[Delivery]:
        start = self._replay_from.get(consumer, 0)
        own = itertools.islice(
            (
                (entry_id, pending)
                for entry_id, pending in self.stream.pending.items()
                if pending.consumer == consumer and _seq(entry_id) > start
            ),
            count,
        )
        now = self.stream.clock()
        replayed = [self._redeliver(entry_id, pending, consumer, now) for entry_id, pending in own]
        if len(replayed) < count:
            self._replayed.add(consumer)
            self._replay_from.pop(consumer, None)
        else:
            self._replay_from[consumer] = _seq(replayed[-1].receipt)
        return replayed

    def _redeliver(self, entry_id: str, pending: _Pending, consumer: str, now: float) -> Delivery:
        pending.consumer = consumer
        pending.delivered_at = now
        pending.deliveries += 1
        return Delivery(self.stream.entries[entry_id], entry_id, pending.deliveries)

    def _take_fresh(self, consumer: str, count: int) -> list[Delivery]:
        now = self.stream.clock()
        taken: list[Delivery] = []
        while self.stream.fresh and len(taken) < count:
            entry_id = self.stream.fresh.popleft()
            job_id = self.stream.entries.get(entry_id)
            if job_id is not None:
                self.stream.pending[entry_id] = _Pending(consumer, now, 1)
                taken.append(Delivery(job_id, entry_id, 1))
        return taken
