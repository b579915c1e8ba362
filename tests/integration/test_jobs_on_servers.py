"""The job system on real servers: Postgres rows, Redis Streams, two workers, readiness."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine
from structlog.testing import capture_logs

from market_ai.adapters.redis.guards import AOF_OFF_WARNING
from market_ai.adapters.redis.queue import RedisJobQueue
from market_ai.adapters.sql.unit_of_work import SqlUnitOfWork
from market_ai.container import build_container
from market_ai.domain.clock import SystemClock
from market_ai.domain.job_execution import JobExecutor
from market_ai.domain.job_lease import LeaseTerms
from market_ai.domain.job_relay import JobRelay
from market_ai.domain.job_service import JobService
from market_ai.domain.jobs import JobStatus, RetryPolicy
from market_ai.entrypoints.http.app import create_app
from market_ai.entrypoints.job_commands import _guard_redis
from market_ai.entrypoints.worker import Worker, WorkerTimings
from tests.conftest import make_settings
from tests.job_fakes import RecordingHandler, registry_with
from tests.job_rig import Running, eventually
from tests.servers import RedisServer

pytestmark = pytest.mark.integration
LEASE = 1.0


def redis_worker(engine: AsyncEngine, redis: Redis, name: str, handler: RecordingHandler) -> Worker:
    """A worker as `market-ai worker` builds it, on this test's Postgres and Redis."""
    queue = RedisJobQueue(redis, stream="test:jobs", group="workers", prefix="test")
    clock = SystemClock()

    def uow() -> SqlUnitOfWork:
        return SqlUnitOfWork(engine)

    return Worker(
        executor=JobExecutor(
            unit_of_work=uow,
            queue=queue,
            registry=registry_with(work=handler),
            clock=clock,
            retry=RetryPolicy(rand=lambda: 0.0),
            terms=LeaseTerms(lease_seconds=LEASE, max_deliveries=5),
            consumer=name,
        ),
        relay=JobRelay(
            unit_of_work=uow,
            queue=queue,
            clock=clock,
            republish_after=timedelta(seconds=30),
            lease=timedelta(seconds=LEASE),
        ),
        queue=queue,
        concurrency=4,
        timings=WorkerTimings(lease_seconds=LEASE, grace_seconds=1.0, relay_interval=0.05),
    )


async def test_two_workers_share_the_jobs_of_postgres_through_redis(
    engine: AsyncEngine, redis: Redis
) -> None:
    handler = RecordingHandler(seconds=0.01, fail_attempts={1})
    service = JobService(lambda: SqlUnitOfWork(engine), SystemClock(), registry_with(work=handler))
    submitted = await service.submit_many("alice", "work", [{"n": n} for n in range(40)])

    async def all_done() -> bool:
        figures = await service.figures()
        return figures.queued + figures.retrying + figures.running == 0

    first = Running(redis_worker(engine, redis, "one", handler))
    second = Running(redis_worker(engine, redis, "two", handler))
    async with first, second:
        await eventually(all_done, timeout=30)
    for job in submitted:
        done = await service.get("alice", job.id)
        assert (done.status, done.attempt) == (JobStatus.SUCCEEDED, 2)  # failed once, retried
    assert sorted(handler.finished_ids()) == sorted(j.id for j in submitted)  # each once
    queue = RedisJobQueue(redis, stream="test:jobs", group="workers", prefix="test")
    assert await queue.stream_length() == 0  # acked entries are deleted
    counters = await queue.counters()
    assert (counters["succeeded"], counters["retrying"]) == (40, 40)
    assert "dead" not in counters


async def test_readiness_includes_redis_and_fails_on_an_evicting_one(tmp_path: Path) -> None:
    with RedisServer(config={"maxmemory-policy": "allkeys-lru"}) as server:
        settings = make_settings(tmp_path, database_url="memory://", redis_url=server.url)
        container = build_container(settings)
        async with AsyncTestClient(create_app(container)) as client:
            ready = await client.get("/health/ready")
            detailed = await client.get("/health/detailed")
            head = await client.head("/health/ready")
    assert ready.status_code == 503
    assert ready.json()["checks"]["redis"]["status"] == "fail"
    assert ready.json()["checks"]["database"]["status"] == "pass"
    assert (detailed.status_code, detailed.json()["status"]) == (503, "fail")
    assert head.status_code == 503


async def test_readiness_passes_on_a_noeviction_redis(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    settings = make_settings(tmp_path, database_url="memory://", redis_url=redis_server.url)
    async with AsyncTestClient(create_app(build_container(settings))) as client:
        ready = await client.get("/health/ready")
        detailed = await client.get("/health/detailed")
    assert ready.status_code == 200
    assert set(ready.json()["checks"]) == {"database", "redis"}
    assert detailed.json()["jobs"]["live_workers"] == 0  # no embedded worker with Redis


async def test_the_worker_guard_refuses_eviction_and_warns_without_aof(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    container = build_container(make_settings(tmp_path, redis_url=redis_server.url))
    with capture_logs() as logs:
        assert await _guard_redis(container) is None
    assert {"event": "redis.durability", "warning": AOF_OFF_WARNING, "log_level": "warning"} in [
        {k: v for k, v in log.items() if k in {"event", "warning", "log_level"}} for log in logs
    ]
    await container.redis_client().aclose()
    with RedisServer(config={"maxmemory-policy": "volatile-lru"}) as evicting:
        other = build_container(make_settings(tmp_path, redis_url=evicting.url))
        refused = await _guard_redis(other)
        await other.redis_client().aclose()
    assert refused is not None
    assert refused.startswith("Redis maxmemory-policy is volatile-lru")
