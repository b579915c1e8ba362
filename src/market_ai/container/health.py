"""Health: the probes readiness runs, chosen by the same backends the adapters use.

A probe per backend in use and no other: the embedded default has no Redis to probe, and
readiness must not fail on a dependency the process does not have.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dependency_injector import containers, providers

from market_ai.container.lazy import lazy
from market_ai.domain.health import HealthService

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from sqlalchemy.ext.asyncio import AsyncEngine

    from market_ai.container.infrastructure import QueueKind, StorageKind


class Health(containers.DeclarativeContainer):
    """Database probe, readiness probes and the service that aggregates them."""

    storage: providers.Dependency[StorageKind] = providers.Dependency()
    engine: providers.Dependency[AsyncEngine] = providers.Dependency()
    queue_backend: providers.Dependency[QueueKind] = providers.Dependency()
    redis_client: providers.Dependency[Redis] = providers.Dependency()

    database_probe = providers.Selector(
        storage,
        sql=providers.Singleton(lazy("market_ai.adapters.sql.probe:SqlHealthProbe"), engine),
        memory=providers.Singleton(lazy("market_ai.adapters.memory.probe:InMemoryHealthProbe")),
    )
    readiness_probes = providers.Selector(
        queue_backend,
        redis=providers.List(
            database_probe,
            providers.Singleton(
                lazy("market_ai.adapters.redis.probe:RedisHealthProbe"), redis_client
            ),
        ),
        memory=providers.List(database_probe),
    )
    health_service = providers.Factory(HealthService, probes=readiness_probes)
