"""Infrastructure: the clock, the storage backend and the Redis client the rest stands on.

Settings choose the two backends here, once (`storage`, `queue_backend`); every other
sub-container selects its adapters from those two choices, so overriding one of them switches
every adapter that depends on it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from dependency_injector import containers, providers

from market_ai.container.lazy import lazy
from market_ai.domain.clock import SystemClock

if TYPE_CHECKING:
    from market_ai.settings import Settings

StorageKind = Literal["sql", "memory"]
QueueKind = Literal["redis", "memory"]


def storage_kind(settings: Settings) -> StorageKind:
    """`memory://` keeps everything in the process; any other URL goes through SQLAlchemy."""
    return "memory" if settings.database_url == "memory://" else "sql"


def queue_kind(settings: Settings) -> QueueKind:
    """REDIS_URL selects Redis Streams; without it the queue lives in this process."""
    return "redis" if settings.redis_url is not None else "memory"


class Infrastructure(containers.DeclarativeContainer):
    """Pools and clients are singletons; a unit of work is made fresh on every call."""

    settings: providers.Dependency[Settings] = providers.Dependency()

    clock = providers.Singleton(SystemClock)

    storage = providers.Callable(storage_kind, settings)
    memory_store = providers.Singleton(lazy("market_ai.adapters.memory.unit_of_work:InMemoryStore"))
    engine = providers.Singleton(lazy("market_ai.adapters.sql.engine:create_engine"), settings)
    unit_of_work = providers.Selector(
        storage,
        sql=providers.Factory(lazy("market_ai.adapters.sql.unit_of_work:SqlUnitOfWork"), engine),
        memory=providers.Factory(
            lazy("market_ai.adapters.memory.unit_of_work:InMemoryUnitOfWork"), memory_store
        ),
    )

    queue_backend = providers.Callable(queue_kind, settings)
    redis_client = providers.Singleton(
        lazy("market_ai.adapters.redis.client:create_redis"), settings.provided.redis_url
    )
