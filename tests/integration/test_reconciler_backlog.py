"""The reconciler on Postgres and Redis: a waiting backlog keeps one entry per job.

Only what the stream really lost is published again, checked in bounded batches; a stream
emptied by a Redis restart gets every waiting job back.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from redis.asyncio import Redis
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncEngine

from market_ai.adapters.redis.client import create_redis
from market_ai.adapters.redis.queue import RedisJobQueue
from market_ai.adapters.sql.engine import create_engine, migrate_database
from market_ai.adapters.sql.tables import jobs as jobs_table
from market_ai.adapters.sql.unit_of_work import SqlUnitOfWork
from market_ai.domain.clock import FixedClock
from market_ai.domain.job_relay import JobRelay
from market_ai.domain.job_service import JobService
from tests.conftest import make_settings
from tests.job_fakes import RecordingHandler, registry_with
from tests.servers import RedisServer

pytestmark = pytest.mark.integration
BACKLOG = 230  # more than two reconcile batches
BATCH = 100
REPUBLISH_AFTER = timedelta(seconds=2)


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    with RedisServer(config={"maxmemory-policy": "noeviction"}) as server:
        yield server


@pytest.fixture
async def redis(redis_server: RedisServer) -> AsyncIterator[Redis]:
    client = create_redis(redis_server.url, timeout=2.0)
    yield client
    await client.aclose()


@pytest.fixture
async def engine(postgres_url: str, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    made = create_engine(make_settings(tmp_path, database_url=postgres_url))
    await migrate_database(made)
    async with made.begin() as conn:
        await conn.execute(delete(jobs_table))
    yield made
    await made.dispose()


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
