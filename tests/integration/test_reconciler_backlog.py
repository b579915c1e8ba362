"""The reconciler on Postgres and Redis: a waiting backlog keeps one entry per job.

Only what the stream really lost is published again, checked in bounded batches; a stream
emptied by a Redis restart gets every waiting job back.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from market_ai.adapters.redis.queue import RedisJobQueue
from market_ai.adapters.sql.unit_of_work import SqlUnitOfWork
from market_ai.domain.clock import FixedClock
from market_ai.domain.job_relay import JobRelay
from market_ai.domain.job_service import JobService
from tests.job_fakes import RecordingHandler, registry_with

pytestmark = pytest.mark.integration
BACKLOG = 230  # more than two reconcile batches
BATCH = 100
REPUBLISH_AFTER = timedelta(seconds=2)


async def test_a_waiting_backlog_keeps_one_entry_per_job_and_a_lost_stream_comes_back(
    engine: AsyncEngine, redis: Redis
) -> None:
    clock = FixedClock(datetime(2026, 3, 1, 12, tzinfo=UTC))
    queue = RedisJobQueue(redis, stream="t:jobs", group="workers", prefix="t")

    def uow() -> SqlUnitOfWork:
        return SqlUnitOfWork(engine)

    service = JobService(uow, clock, registry_with(work=RecordingHandler()))
    relay = JobRelay(
        unit_of_work=uow,
        queue=queue,
        clock=clock,
        republish_after=REPUBLISH_AFTER,
        lease=timedelta(seconds=30),
        batch=BATCH,
    )
    await service.submit_many("alice", "work", [{}] * BACKLOG)
    assert await relay.relay_all() == BACKLOG
    held = await queue.receive("slow", count=5, block_ms=0)  # a slow worker holds a few
    assert len(held) == 5

    for _ in range(6):  # every job looks stale on each round: all are checked, none resent
        clock.at += REPUBLISH_AFTER * 2
        assert await relay.reconcile_once() == 0
        await relay.relay_all()
    assert await queue.stream_length() == BACKLOG

    await redis.flushall()  # Redis restarted without AOF: the stream and its index are gone
    clock.at += REPUBLISH_AFTER * 2
    assert await relay.reconcile_once() == BACKLOG
    assert await relay.relay_all() == BACKLOG
    assert await queue.stream_length() == BACKLOG
    async with uow() as unit:
        figures = await unit.jobs.figures()
    assert figures.queued == BACKLOG
