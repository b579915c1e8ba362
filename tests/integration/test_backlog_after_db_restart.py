"""Postgres stops for a few seconds under a busy worker: the backlog moves again within seconds.

Deliveries received while the database was down used to stay pending until a reclaim or a
republication (a minute); now their claims are retried with a short backoff.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from structlog.testing import capture_logs

from market_ai.adapters.memory.job_queue import InMemoryJobQueue
from market_ai.adapters.sql.engine import create_engine, migrate_database
from market_ai.adapters.sql.unit_of_work import SqlUnitOfWork
from market_ai.domain.clock import SystemClock
from market_ai.domain.job_execution import JobExecutor
from market_ai.domain.job_lease import LeaseTerms
from market_ai.domain.job_registry import JobResult
from market_ai.domain.job_relay import JobRelay
from market_ai.domain.job_service import JobService
from market_ai.domain.jobs import JobContext, RetryPolicy
from market_ai.entrypoints.worker import Worker, WorkerTimings
from tests.conftest import make_settings
from tests.job_fakes import registry_with
from tests.job_rig import Running
from tests.servers import PostgresServer

pytestmark = pytest.mark.integration
JOBS = 120
OUTAGE = 2.0
# "A few seconds" to resume, plus about a second of work left; the old path took a lease.
DONE_WITHIN = 8.0
LEASE = 30.0


class Finishes:
    """A handler that takes a little while and stamps each finish."""

    def __init__(self) -> None:
        self.at: list[float] = []

    async def __call__(self, ctx: JobContext) -> JobResult:
        await asyncio.sleep(0.05)
        self.at.append(time.monotonic())
        return {"attempt": ctx.attempt}


@pytest.fixture
def postgres() -> Iterator[PostgresServer]:
    server = PostgresServer()
    server.start()
    try:
        yield server
    finally:
        server.remove()


@pytest.fixture
async def engine(postgres: PostgresServer, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    made = create_engine(make_settings(tmp_path, database_url=postgres.url, db_pool_timeout=2.0))
    await migrate_database(made)
    yield made
    await made.dispose()


async def test_the_backlog_moves_again_within_seconds_of_the_database_answering(
    postgres: PostgresServer, engine: AsyncEngine
) -> None:
    finishes = Finishes()
    registry = registry_with(work=finishes)
    clock = SystemClock()
    service = JobService(lambda: SqlUnitOfWork(engine), clock, registry)
    await service.submit_many("alice", "work", [{}] * JOBS)
    queue = InMemoryJobQueue()
    worker = Worker(
        executor=JobExecutor(
            unit_of_work=lambda: SqlUnitOfWork(engine),
            queue=queue,
            registry=registry,
            clock=clock,
            retry=RetryPolicy(),
            terms=LeaseTerms(lease_seconds=LEASE),
            consumer="busy",
        ),
        relay=JobRelay(
            unit_of_work=lambda: SqlUnitOfWork(engine),
            queue=queue,
            clock=clock,
            republish_after=timedelta(seconds=60),
            lease=timedelta(seconds=LEASE),
        ),
        queue=queue,
        concurrency=8,
        timings=WorkerTimings(lease_seconds=LEASE, grace_seconds=1.0, relay_interval=0.1),
    )
    with capture_logs():  # the loops' error logs, not rendered: the outage is the point
        await _run_through_outage(worker, queue, postgres, finishes)


async def _run_through_outage(
    worker: Worker, queue: InMemoryJobQueue, postgres: PostgresServer, finishes: Finishes
) -> None:
    async with Running(worker):
        while len(finishes.at) < 10:
            await asyncio.sleep(0.01)
        await asyncio.to_thread(postgres.stop, "immediate")
        await asyncio.sleep(OUTAGE)
        # The harder case: every entry was handed out (and its claim failed) while down.
        for _ in range(60):
            if not any(entry in queue.stream.entries for entry in queue.stream.fresh):
                break
            await asyncio.sleep(0.05)
        before = len(finishes.at)
        await asyncio.to_thread(postgres.start)
        back = time.monotonic()
        deadline = back + 4 * DONE_WITHIN
        while time.monotonic() < deadline and len(finishes.at) < JOBS:
            await asyncio.sleep(0.05)
    assert before < JOBS - 50  # the outage did leave a backlog
    assert len(finishes.at) == JOBS, f"{JOBS - len(finishes.at)} jobs still waiting"
    assert finishes.at[-1] - back < DONE_WITHIN
