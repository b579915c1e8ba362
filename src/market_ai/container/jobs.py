"""Jobs: the queue, the registry of job types and the services that enqueue and watch them.

The handlers that run each job type arrive from the root: they are the use-case services,
which themselves enqueue through `job_service`, so only the root can close that loop.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from dependency_injector import containers, providers

from market_ai.container.lazy import lazy
from market_ai.domain.job_overview import JobMonitor
from market_ai.domain.job_registry import default_registry
from market_ai.domain.job_service import JobService
from market_ai.domain.jobs import RetryPolicy

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from market_ai.container.infrastructure import QueueKind
    from market_ai.domain.job_registry import JobHandler
    from market_ai.domain.ports import Clock, UnitOfWork
    from market_ai.settings import Settings


class Jobs(containers.DeclarativeContainer):
    """Redis Streams or the in-process stream, as `queue_backend` says; rows stay in storage."""

    settings: providers.Dependency[Settings] = providers.Dependency()
    clock: providers.Dependency[Clock] = providers.Dependency()
    unit_of_work: providers.Dependency[UnitOfWork] = providers.Dependency()
    queue_backend: providers.Dependency[QueueKind] = providers.Dependency()
    redis_client: providers.Dependency[Redis] = providers.Dependency()
    handlers: providers.Dependency[dict[str, JobHandler]] = providers.Dependency()

    job_stream = providers.Singleton(lazy("market_ai.adapters.memory.job_queue:InMemoryJobStream"))
    job_queue = providers.Selector(
        queue_backend,
        redis=providers.Singleton(
            lazy("market_ai.adapters.redis.queue:RedisJobQueue"), redis_client
        ),
        memory=providers.Singleton(
            lazy("market_ai.adapters.memory.job_queue:InMemoryJobQueue"), job_stream
        ),
    )
    job_registry = providers.Singleton(
        default_registry, settings.provided.job_handler_modules, handlers=handlers
    )
    retry_policy = providers.Singleton(
        RetryPolicy,
        base_seconds=settings.provided.job_retry_base_seconds,
        cap_seconds=settings.provided.job_retry_max_seconds,
    )
    job_wakeup = providers.Singleton(asyncio.Event)  # wakes the in-process relay on enqueue
    job_service = providers.Factory(
        JobService,
        unit_of_work=unit_of_work.provider,
        clock=clock,
        registry=job_registry,
        max_attempts=settings.provided.job_max_attempts,
        on_enqueued=job_wakeup.provided.set,
    )
    job_monitor = providers.Factory(JobMonitor, jobs=job_service, queue=job_queue, clock=clock)
