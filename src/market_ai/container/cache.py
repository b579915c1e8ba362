"""Cache: settings choose where computed reads are kept (Redis, this process, or nowhere)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from dependency_injector import containers, providers

from market_ai.container.lazy import lazy
from market_ai.domain.read_cache import ReadCache

if TYPE_CHECKING:
    from market_ai.domain.cache import Cache as CachePort
    from market_ai.settings import Settings

CacheKind = Literal["redis", "memory", "off"]


def cache_kind(settings: Settings) -> CacheKind:
    """`auto`: Redis when REDIS_URL is set (shared by every process), else this process."""
    if settings.cache_backend != "auto":
        return settings.cache_backend
    return "redis" if settings.redis_url is not None else "memory"


def read_cache(settings: Settings, kind: CacheKind, store: CachePort | None) -> ReadCache | None:
    """The one ReadCache of this process (its single-flight table must be shared)."""
    if kind == "off" or store is None:
        return None
    return ReadCache(
        store, ttl_seconds=settings.cache_ttl_seconds, claim_seconds=settings.cache_claim_seconds
    )


class Cache(containers.DeclarativeContainer):
    """One ReadCache per container; `None` when caching is off."""

    settings: providers.Dependency[Settings] = providers.Dependency()

    cache_kind = providers.Callable(cache_kind, settings)
    cache_redis_client = providers.Singleton(
        lazy("market_ai.adapters.redis.cache:create_cache_redis"),
        settings.provided.redis_url,
        timeout=settings.provided.cache_timeout_seconds,
    )
    redis_cache = providers.Singleton(
        lazy("market_ai.adapters.redis.cache:RedisCache"), cache_redis_client
    )
    memory_cache = providers.Singleton(lazy("market_ai.adapters.memory.cache:InMemoryCache"))
    cache_store = providers.Selector(
        cache_kind, redis=redis_cache, memory=memory_cache, off=providers.Object(None)
    )
    read_cache = providers.Singleton(read_cache, settings, cache_kind, cache_store)
