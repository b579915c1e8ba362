"""A job system on memory adapters, with a clock tests can move: store, queue, service, workers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Self
from uuid import UUID

from market_ai.adapters.memory.job_queue import InMemoryJobQueue, InMemoryJobStream
from market_ai.adapters.memory.unit_of_work import InMemoryStore, InMemoryUnitOfWork
from market_ai.domain.clock import FixedClock, SystemClock
from market_ai.domain.job_execution import JobExecutor
from market_ai.domain.job_lease import LeaseTerms
from market_ai.domain.job_registry import JobRegistry
from market_ai.domain.job_relay import JobRelay
from market_ai.domain.job_retention import Retention
from market_ai.domain.job_service import JobService
from market_ai.domain.jobs import Job, RetryPolicy
from market_ai.domain.ports import Clock
from market_ai.entrypoints.worker import Worker, WorkerTimings

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


class Rig:
    """Everything a worker needs, in memory. `fake=True` freezes time until `advance`."""

    def __init__(self, *, fake: bool = True, max_attempts: int = 5) -> None:
        self.fake = fake
        self._seconds = 0.0
        self.clock: Clock = FixedClock(T0) if fake else SystemClock()
        self.store = InMemoryStore()
        self.stream = InMemoryJobStream(self._monotonic if fake else time.monotonic)
        self.queue = InMemoryJobQueue(self.stream)
        self.registry = JobRegistry()
        self.service = JobService(self.uow, self.clock, self.registry, max_attempts=max_attempts)

    def _monotonic(self) -> float:
        return self._seconds

    def uow(self) -> InMemoryUnitOfWork:
        return InMemoryUnitOfWork(self.store)

    def advance(self, seconds: float) -> None:
        """Move the database clock and the queue's idle clock together."""
        assert isinstance(self.clock, FixedClock)
        self.clock.at += timedelta(seconds=seconds)
        self._seconds += seconds

    def lose_queue(self) -> None:
        """What a Redis restart without AOF does: every entry, pending or not, is gone."""
        self.stream = InMemoryJobStream(self._monotonic if self.fake else time.monotonic)
        self.queue = InMemoryJobQueue(self.stream)

    def executor(
        self, consumer: str = "w1", *, lease: float = 30.0, max_deliveries: int = 5
    ) -> JobExecutor:
        return JobExecutor(
            unit_of_work=self.uow,
            queue=self.queue,
            registry=self.registry,
            clock=self.clock,
            retry=RetryPolicy(base_seconds=2, cap_seconds=60, rand=lambda: 0.5),
            terms=LeaseTerms(lease_seconds=lease, max_deliveries=max_deliveries),
            consumer=consumer,
        )

    def relay(self, *, republish_after: float = 60.0, lease: float = 30.0) -> JobRelay:
        return JobRelay(
            unit_of_work=self.uow,
            queue=self.queue,
            clock=self.clock,
            republish_after=timedelta(seconds=republish_after),
            lease=timedelta(seconds=lease),
        )

    def worker(
        self,
        consumer: str,
        *,
        lease: float,
        grace: float = 1.0,
        concurrency: int = 4,
        retention: Retention | None = None,
    ) -> Worker:
        return Worker(
            executor=self.executor(consumer, lease=lease),
            relay=self.relay(republish_after=lease * 2, lease=lease),
            queue=self.queue,
            concurrency=concurrency,
            timings=WorkerTimings(
                lease_seconds=lease,
                grace_seconds=grace,
                relay_interval=0.02,
                reconcile_interval=0.1,
            ),
            volatile_queue=False,
            retention=retention,
        )

    async def queue_is_empty(self) -> bool:
        """Every entry acked (and so deleted)."""
        return await self.queue.stream_length() == 0

    async def job(self, job_id: UUID) -> Job:
        async with self.uow() as uow:
            job = await uow.jobs.get(job_id)
        assert job is not None
        return job


async def eventually(
    check: Callable[[], Awaitable[bool]], timeout: float = 5.0, every: float = 0.01
) -> float:
    """Wait until `check` holds; returns the seconds it took (fails the test on timeout)."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    while not await check():
        if loop.time() - started > timeout:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(every)
    return loop.time() - started


class Running:
    """A worker run in the background: `async with Running(worker) as stop:`."""

    def __init__(self, worker: Worker) -> None:
        self.worker = worker
        self.stop = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Self:
        self.task = asyncio.create_task(self.worker.run(self.stop))
        return self

    async def halt(self) -> None:
        """SIGTERM: set stop and wait for the drain to finish."""
        self.stop.set()
        if self.task is not None:
            await self.task

    async def __aexit__(self, *exc: object) -> None:
        await self.halt()
