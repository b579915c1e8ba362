"""The HTTP edge: who a bearer token names, and how many requests a caller may make.

Both guard the API before a use case runs; neither is needed by the worker or the library.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from dependency_injector import containers, providers

from market_ai.container.lazy import lazy
from market_ai.settings import SettingsError

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from market_ai.adapters.auth.clerk import ClerkTokenVerifier, SigningKeys
    from market_ai.container.infrastructure import QueueKind
    from market_ai.domain.ports import Clock
    from market_ai.settings import Settings

IdentityKind = Literal["local", "clerk"]


def identity_kind(settings: Settings) -> IdentityKind:
    """A configured identity provider wins; otherwise the local development key."""
    return "clerk" if settings.identity_provider_configured else "local"


def clerk_verifier(settings: Settings, clock: Clock) -> ClerkTokenVerifier:
    """CLERK_JWT_KEY when given (no network), else CLERK_JWKS_URL or Clerk's well-known JWKS."""
    from market_ai.adapters.auth.clerk import ClerkTokenVerifier  # noqa: PLC0415
    from market_ai.adapters.auth.jwks import JwksKeySet, StaticSigningKey  # noqa: PLC0415
    from market_ai.identity_settings import load_rsa_public_key  # noqa: PLC0415

    issuer, endpoint = settings.expected_issuer, settings.jwks_endpoint
    keys: SigningKeys
    if settings.clerk_jwt_key is not None:
        keys = StaticSigningKey(load_rsa_public_key(settings.clerk_jwt_key.get_secret_value()))
    elif endpoint is not None:
        keys = JwksKeySet(endpoint, clock)  # its HTTP client is made on first fetch
    if issuer is None or (settings.clerk_jwt_key is None and endpoint is None):
        raise SettingsError("invalid setting CLERK_DOMAIN: no identity provider configured")
    return ClerkTokenVerifier(
        keys,
        issuer=issuer,
        authorized_parties=settings.allowed_origins,
        leeway_seconds=settings.auth_leeway_seconds,
    )


class HttpEdge(containers.DeclarativeContainer):
    """Token verifier and rate limiter, each chosen from settings."""

    settings: providers.Dependency[Settings] = providers.Dependency()
    clock: providers.Dependency[Clock] = providers.Dependency()
    queue_backend: providers.Dependency[QueueKind] = providers.Dependency()
    redis_client: providers.Dependency[Redis] = providers.Dependency()

    token_verifier = providers.Selector(
        providers.Callable(identity_kind, settings),
        local=providers.Singleton(
            lazy("market_ai.adapters.auth.local_key:LocalKeyTokens"),
            data_dir=settings.provided.data_dir,
            leeway_seconds=settings.provided.auth_leeway_seconds,
        ),
        clerk=providers.Singleton(clerk_verifier, settings, clock),
    )
    # REDIS_URL shares one count across instances; without it each process counts alone.
    rate_limiter = providers.Selector(
        queue_backend,
        redis=providers.Singleton(
            lazy("market_ai.adapters.redis.rate_limit:RedisRateLimiter"), redis_client
        ),
        memory=providers.Singleton(
            lazy("market_ai.adapters.memory.rate_limit:InMemoryRateLimiter")
        ),
    )
