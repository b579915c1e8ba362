"""The worker's loops: consume (with reclaim), relay, reconcile and heartbeat; SIGTERM drains."""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import structlog

if TYPE_CHECKING:
    from market_ai.domain.job_execution import JobExecutor
    from market_ai.domain.job_queue import Delivery, JobQueue
    from market_ai.domain.job_relay import JobRelay
    from market_ai.domain.job_retention import Retention

log = structlog.get_logger(__name__)

RETRY_PAUSE = 1.0  # after an error in a loop: long enough not to spin, short enough to recover
LOOP_EXIT_TIMEOUT = 5.0  # a loop round (one relay batch, one receive) ends well within this
HAND_BACK_TIMEOUT = 4.0  # cancelled jobs' hand-backs after the grace: 25 + 4 s < 30 s


async def _pause(seconds: float | None, *until: asyncio.Event | asyncio.Future[Any] | None) -> None:
    """Sleep `seconds` (None: no limit), or less when an event is set or a future is done."""
    waiters = {
        asyncio.ensure_future(item.wait()) if isinstance(item, asyncio.Event) else item
        for item in until
        if item is not None
    }
    helpers = {w for w in waiters if not any(w is item for item in until)}
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for helper in helpers:
            helper.cancel()


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
    prune_interval: float = 3600.0

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
        retention: Retention | None = None,
    ) -> None:
        self._executor = executor
        self._relay = relay
        self._queue = queue
        self._concurrency = concurrency
        self._timings = timings
        self._wakeup = wakeup
        self._volatile_queue = volatile_queue
        self._retention = retention
        self._tasks: set[asyncio.Task[None]] = set()  # the ones holding one of the slots
        self._suspects: set[asyncio.Task[None]] = set()  # moved to the suspects' own lane
        self._one_suspect = asyncio.Lock()
        self._freed = asyncio.Event()
        self.name = executor.consumer

    async def run(self, stop: asyncio.Event) -> None:
        """Work until `stop` is set, then drain: in-flight jobs get the grace period.

        The loops are never cancelled: each one sees `stop` between rounds and returns, so no
        database transaction or queue command is cut in half (cancellation can be swallowed
        by drivers, and a half-closed connection can keep the process from exiting).
        """
        log.info("worker.started", consumer=self.name, concurrency=self._concurrency)
        if self._volatile_queue:
            await self._guarded("forget_published", self._relay.forget_published)
        timings = self._timings
        loops = [
            asyncio.create_task(self._consume(stop)),
            asyncio.create_task(
                self._every(stop, timings.relay_interval, self._relay_all, wake=self._wakeup)
            ),
            asyncio.create_task(
                self._every(stop, timings.reconcile_interval, self._relay.reconcile_once)
            ),
            asyncio.create_task(self._every(stop, timings.heartbeat_every, self._heartbeat)),
        ]
        if self._retention is not None:
            prune = self._retention.prune_once
            loops.append(asyncio.create_task(self._every(stop, timings.prune_interval, prune)))
        try:
            await stop.wait()
        finally:
            stop.set()  # also when this task itself is cancelled
            # The loops wind down while in-flight jobs use their grace: the whole shutdown
            # is the grace plus the hand-back (25 + 4 s by default), inside a 30 s kill.
            await asyncio.gather(self._loops_exit(loops), self._drain())
            log.info("worker.stopped", consumer=self.name)

    @staticmethod
    async def _loops_exit(loops: list[asyncio.Task[None]]) -> None:
        _, stuck = await asyncio.wait(loops, timeout=LOOP_EXIT_TIMEOUT)
        for loop in stuck:  # a round that hangs on a dead dependency: last resort
            loop.cancel()

    async def _consume(self, stop: asyncio.Event) -> None:
        """Reclaim dead workers' entries every half lease, then receive new ones."""
        loop = asyncio.get_running_loop()
        next_reclaim = loop.time() + self._timings.reclaim_every
        while await self._free_slots(stop):
            free = self._concurrency - len(self._tasks)
            try:
                if loop.time() >= next_reclaim:
                    next_reclaim = loop.time() + self._timings.reclaim_every
                    free -= await self._reclaim(free)
                if free > 0:
                    for delivery in await self._receive(stop, free):
                        self._dispatch(delivery)
            except Exception:
                log.exception("worker.receive_failed", consumer=self.name)
                await _pause(RETRY_PAUSE, stop)

    async def _receive(self, stop: asyncio.Event, count: int) -> Sequence[Delivery]:
        """A blocking receive that gives up when `stop` is set (only queue I/O is cut short)."""
        block_ms = self._timings.receive_block_ms
        receiving = asyncio.ensure_future(
            self._queue.receive(self.name, count=count, block_ms=block_ms)
        )
        await _pause(None, stop, receiving)
        if not receiving.done():
            receiving.cancel()  # an unread entry stays pending and is reclaimed after a lease
            await asyncio.wait({receiving}, timeout=block_ms / 1000 + 1)
        if not receiving.done() or receiving.cancelled():
            return []
        return receiving.result()

    async def _reclaim(self, free: int) -> int:
        lease_ms = int(self._timings.lease_seconds * 1000)
        reclaimed = await self._queue.reclaim(self.name, min_idle_ms=lease_ms, count=free)
        if reclaimed:
            log.warning("worker.reclaimed", consumer=self.name, jobs=len(reclaimed))
            await self._queue.count("reclaimed", len(reclaimed))
        for delivery in reclaimed:
            self._dispatch(delivery)
        return len(reclaimed)

    async def _free_slots(self, stop: asyncio.Event) -> bool:
        """Wait for a free slot; False once `stop` is set."""
        while not stop.is_set() and len(self._tasks) >= self._concurrency:
            self._freed.clear()
            await _pause(None, stop, self._freed)
        return not stop.is_set()

    def _dispatch(self, delivery: Delivery) -> None:
        task = asyncio.create_task(self._handle(delivery))
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._suspects.discard(task)
        self._freed.set()

    async def _handle(self, delivery: Delivery) -> None:
        """Run the delivery in its slot; a suspect moves to the suspects' lane first.

        A suspect is a job that really started and never finished: it may be what crashed
        its last worker. Suspects run one at a time, so a crash takes down at most one of
        them and only the culprit's own starts add up to poison, while the other slots
        keep running everything else. A redelivery that never started is no suspect.
        """
        try:
            if await self._executor.suspect(delivery):
                await self._run_as_suspect(delivery)
                return
            outcome = await self._executor.handle(delivery)
        except Exception:
            log.exception("worker.job_failed_unexpectedly", job_id=str(delivery.job_id))
        else:
            log.debug("worker.job_done", job_id=str(delivery.job_id), outcome=str(outcome))

    async def _run_as_suspect(self, delivery: Delivery) -> None:
        task = asyncio.current_task()
        if task is not None and len(self._suspects) < self._concurrency:
            self._tasks.discard(task)  # its slot goes back to the others
            self._suspects.add(task)
            self._freed.set()
        async with self._one_suspect:
            outcome = await self._executor.handle(delivery)
        log.debug("worker.suspect_done", job_id=str(delivery.job_id), outcome=str(outcome))

    async def _relay_all(self) -> None:
        await self._relay.relay_all()

    async def _heartbeat(self) -> None:
        lease_ms = int(self._timings.lease_seconds * 1000)
        await self._queue.heartbeat(self.name, ttl_seconds=self._timings.lease_seconds)
        await self._queue.forget_idle_consumers(min_idle_ms=2 * lease_ms)

    async def _every(
        self,
        stop: asyncio.Event,
        seconds: float,
        action: Callable[[], Awaitable[object]],
        *,
        wake: asyncio.Event | None = None,
    ) -> None:
        """Run `action` now and then every `seconds`, or as soon as `wake` is set."""
        while not stop.is_set():
            if wake is not None:
                wake.clear()  # before acting: a set during the action wakes the next round
            await self._guarded(getattr(action, "__name__", "loop"), action)
            await _pause(seconds, stop, wake)

    async def _guarded(self, name: str, action: Callable[[], Awaitable[object]]) -> None:
        try:
            await action()
        except Exception:
            log.exception("worker.loop_failed", loop=name, consumer=self.name)

    async def _drain(self) -> None:
        """Let in-flight jobs finish within the grace period; hand the rest back."""
        in_flight = self._tasks | self._suspects
        if not in_flight:
            return
        log.info("worker.draining", consumer=self.name, in_flight=len(in_flight))
        _, pending = await asyncio.wait(in_flight, timeout=self._timings.grace_seconds)
        if pending:
            log.warning("worker.handing_back", consumer=self.name, jobs=len(pending))
            for task in pending:
                task.cancel()
            await asyncio.wait(pending, timeout=HAND_BACK_TIMEOUT)
