"""A worker cut off from the database stops its handler before its lease can lapse.

Worker A reaches Postgres through a proxy the test pauses (its renewals hang), worker B
directly. B takes the job over once A's lease has lapsed; every effect A's handler made must
come before B's first one, so two owners' effects never overlap.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from uuid import UUID

import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from market_ai.adapters.memory.job_queue import InMemoryJobQueue
from market_ai.adapters.sql.engine import create_engine, migrate_database
from market_ai.adapters.sql.unit_of_work import SqlUnitOfWork
from market_ai.domain.clock import SystemClock
from market_ai.domain.job_execution import JobExecutor, Outcome
from market_ai.domain.job_lease import LeaseTerms
from market_ai.domain.job_queue import Delivery
from market_ai.domain.job_registry import JobResult
from market_ai.domain.job_service import JobService
from market_ai.domain.jobs import JobContext, RetryPolicy
from tests.conftest import make_settings
from tests.job_fakes import registry_with
from tests.tcp_proxy import PausableProxy

pytestmark = pytest.mark.integration
LEASE = 0.6
RUN_FOR = 2.5  # far longer than the lease: A would still be working when B takes over


class EffectLog:
    """A handler that makes an effect every few milliseconds, stamped with who made it."""

    def __init__(self) -> None:
        self.effects: list[tuple[str, float]] = []
        self.running = asyncio.Event()

    def handler(self, who: str) -> object:
        async def run(ctx: JobContext) -> JobResult:
            self.running.set()
            ends = time.monotonic() + RUN_FOR / (ctx.attempt * 4 if who == "B" else 1)
            while time.monotonic() < ends:
                self.effects.append((who, time.monotonic()))
                await asyncio.sleep(0.005)
            return {"by": who}

        return run


@pytest.fixture
async def engines(
    fresh_postgres_url: str, tmp_path: Path
) -> AsyncIterator[tuple[AsyncEngine, str]]:
    settings = make_settings(tmp_path, database_url=fresh_postgres_url, db_pool_timeout=2.0)
    engine = create_engine(settings)
    await migrate_database(engine)
    yield engine, fresh_postgres_url
    await engine.dispose()


def _executor(engine: AsyncEngine, handler: object, consumer: str) -> JobExecutor:
    return JobExecutor(
        unit_of_work=lambda: SqlUnitOfWork(engine),
        queue=InMemoryJobQueue(),
        registry=registry_with(work=handler),
        clock=SystemClock(),
        retry=RetryPolicy(),
        terms=LeaseTerms(lease_seconds=LEASE),
        consumer=consumer,
    )


async def _take_over(executor: JobExecutor, job_id: UUID) -> Outcome:
    """B's deliveries of the job until one runs it (earlier ones find A's lease alive)."""
    for attempt in range(200):
        outcome = await executor.handle(Delivery(job_id, f"{attempt + 2}-0", 2))
        if outcome is not Outcome.DUPLICATE:
            return outcome
        await asyncio.sleep(0.02)
    raise AssertionError("B never took the job over")


async def test_a_worker_that_cannot_renew_stops_before_another_takes_over(
    engines: tuple[AsyncEngine, str], tmp_path: Path
) -> None:
    direct, url = engines
    log = EffectLog()
    parsed = make_url(url)
    async with PausableProxy(parsed.port or 5432) as proxy:
        proxied_url = parsed.set(port=proxy.port).render_as_string(hide_password=False)
        proxied = create_engine(make_settings(tmp_path, database_url=proxied_url))
        try:
            service = JobService(
                lambda: SqlUnitOfWork(direct), SystemClock(), registry_with(work=log.handler("-"))
            )
            job = await service.submit("alice", "work")
            a = _executor(proxied, log.handler("A"), "A")
            b = _executor(direct, log.handler("B"), "B")
            first = asyncio.create_task(a.handle(Delivery(job.id, "1-0", 1)))
            await asyncio.wait_for(log.running.wait(), 10)
            proxy.pause()  # A's database connections hang from now on
            assert await _take_over(b, job.id) is Outcome.SUCCEEDED
            proxy.resume()
            await asyncio.wait_for(first, 10)
        finally:
            proxy.resume()
            await proxied.dispose()
    a_effects = [at for who, at in log.effects if who == "A"]
    b_effects = [at for who, at in log.effects if who == "B"]
    assert a_effects
    assert b_effects
    assert max(a_effects) < min(b_effects), (
        f"A still made effects {max(a_effects) - min(b_effects):.3f}s after B started"
    )
