"""The worker's loops: consume (with reclaim), relay, reconcile and heartbeat; SIGTERM drains."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import structlog

if TYPE_CHECKING:
    from market_ai.domain.job_execution import JobExecutor
    from market_ai.domain.job_queue import Delivery, JobQueue
    from market_ai.domain.job_relay import JobRelay

log = structlog.get_logger(__name__)

RETRY_PAUSE = 1.0  # after an error in a loop: long enough not to spin, short enough to recover


def consumer_name() -> str:
    """Unique per process, readable in Redis: host, pid and a few random hex digits."""
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(2)}"


@dataclass(frozen=True, slots=True)
class WorkerTimings:
    """How often each loop runs.

    Reclaim bound: a job's queue entry is renewed every lease/3 while its handler runs. If
    the worker dies, the entry becomes reclaimable one lease after its last renewal, and a
    worker with a free slot scans for such entries every lease/2, between receives that
    block at most min(1 s, lease/6). So another worker takes the job over at most
    1.5 x lease + 1 s (and always < 2 x lease) after the last renewal: 46 s by default.
    """

    lease_seconds: float = 30.0
    grace_seconds: float = 25.0
    relay_interval: float = 0.25
    reconcile_interval: float = 5.0

    @property
    def reclaim_every(self) -> float:
        """Half a lease."""
        return self.lease_seconds / 2

    @property
    def receive_block_ms(self) -> int:
        """At most a second, and a sixth of a lease, so reclaim scans are never starved."""
        return max(10, int(min(1000.0, self.lease_seconds * 1000 / 6)))

    @property
    def heartbeat_every(self) -> float:
        """Three heartbeats per lease-long TTL."""
        return self.lease_seconds / 3


class Worker:
    """Runs deliveries with at most `concurrency` at once, and keeps the outbox flowing."""

    def __init__(  # noqa: PLR0913 - the parts a worker is assembled from, by keyword
        self,
        *,
        executor: JobExecutor,
        relay: JobRelay,
        queue: JobQueue,
        concurrency: int,
        timings: WorkerTimings,
        wakeup: asyncio.Event | None = None,
        volatile_queue: bool = False,
    ) -> None:
        self._executor = executor
        self._relay = relay
        self._queue = queue
        self._concurrency = concurrency
        self._timings = timings
        self._wakeup = wakeup
        self._volatile_queue = volatile_queue
        self._tasks: set[asyncio.Task[None]] = set()
        self._freed = asyncio.Event()
        self.name = executor.consumer

    async def run(self, stop: asyncio.Event) -> None:
        """Work until `stop` is set, then drain: in-flight jobs get the grace period."""
        log.info("worker.started", consumer=self.name, concurrency=self._concurrency)
        if self._volatile_queue:
            await self._guarded("forget_published", self._relay.forget_published)
        loops = [
            asyncio.create_task(self._consume()),
            asyncio.create_task(
                self._every(self._timings.relay_interval, self._relay_all, wake=self._wakeup)
            ),
            asyncio.create_task(
                self._every(self._timings.reconcile_interval, self._relay.reconcile_once)
            ),
            asyncio.create_task(self._every(self._timings.heartbeat_every, self._heartbeat)),
        ]
        try:
            await stop.wait()
        finally:
            for loop in loops:
                loop.cancel()
            await asyncio.gather(*loops, return_exceptions=True)
            await self._drain()
            log.info("worker.stopped", consumer=self.name)

    async def _consume(self) -> None:
        """Reclaim dead workers' entries every half lease, then receive new ones."""
        loop = asyncio.get_running_loop()
        next_reclaim = loop.time() + self._timings.reclaim_every
        while True:
            free = await self._free_slots()
            try:
                if loop.time() >= next_reclaim:
                    next_reclaim = loop.time() + self._timings.reclaim_every
                    free -= await self._reclaim(free)
                if free > 0:
                    received = await self._queue.receive(
                        self.name, count=free, block_ms=self._timings.receive_block_ms
                    )
                    for delivery in received:
                        self._spawn(delivery)
            except Exception:
                log.exception("worker.receive_failed", consumer=self.name)
                await asyncio.sleep(RETRY_PAUSE)

    async def _reclaim(self, free: int) -> int:
        lease_ms = int(self._timings.lease_seconds * 1000)
        reclaimed = await self._queue.reclaim(self.name, min_idle_ms=lease_ms, count=free)
        if reclaimed:
            log.warning("worker.reclaimed", consumer=self.name, jobs=len(reclaimed))
            await self._queue.count("reclaimed", len(reclaimed))
        for delivery in reclaimed:
            self._spawn(delivery)
        return len(reclaimed)

    async def _free_slots(self) -> int:
        while len(self._tasks) >= self._concurrency:
            self._freed.clear()
            await self._freed.wait()
        return self._concurrency - len(self._tasks)

    def _spawn(self, delivery: Delivery) -> None:
        task = asyncio.create_task(self._handle(delivery))
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._freed.set()

    async def _handle(self, delivery: Delivery) -> None:
        try:
            outcome = await self._executor.handle(delivery)
        except Exception:
            log.exception("worker.job_failed_unexpectedly", job_id=str(delivery.job_id))
        else:
            log.debug("worker.job_done", job_id=str(delivery.job_id), outcome=str(outcome))

    async def _relay_all(self) -> None:
        await self._relay.relay_all()

    async def _heartbeat(self) -> None:
        await self._queue.heartbeat(self.name, ttl_seconds=self._timings.lease_seconds)

    async def _every(
        self,
        seconds: float,
        action: Callable[[], Awaitable[object]],
        *,
        wake: asyncio.Event | None = None,
    ) -> None:
        """Run `action` now and then every `seconds`, or as soon as `wake` is set."""
        while True:
            if wake is not None:
                wake.clear()  # before acting: a set during the action wakes the next round
            await self._guarded(getattr(action, "__name__", "loop"), action)
            if wake is None:
                await asyncio.sleep(seconds)
                continue
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(seconds):
                    await wake.wait()

    async def _guarded(self, name: str, action: Callable[[], Awaitable[object]]) -> None:
        try:
            await action()
        except Exception:
            log.exception("worker.loop_failed", loop=name, consumer=self.name)

    async def _drain(self) -> None:
        """Let in-flight jobs finish within the grace period; hand the rest back."""
        if not self._tasks:
            return
        log.info("worker.draining", consumer=self.name, in_flight=len(self._tasks))
        _, pending = await asyncio.wait(set(self._tasks), timeout=self._timings.grace_seconds)
        if pending:
            log.warning("worker.handing_back", consumer=self.name, jobs=len(pending))
            for task in pending:
                task.cancel()
            await asyncio.wait(pending, timeout=5.0)
