"""The composition root: the only place where settings choose adapters."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Literal

from dependency_injector import containers, providers

from market_ai.adapters.auth.clerk import ClerkTokenVerifier, SigningKeys
from market_ai.adapters.auth.jwks import JwksKeySet, StaticSigningKey
from market_ai.adapters.auth.local_key import LocalKeyTokens
from market_ai.adapters.memory.content import InMemoryContentStore, InMemorySpendLedger
from market_ai.adapters.memory.job_queue import InMemoryJobQueue, InMemoryJobStream
from market_ai.adapters.memory.offline_generator import OfflineContentGenerator
from market_ai.adapters.memory.offline_summary import OfflineSummaryWriter
from market_ai.adapters.memory.outbox_mailer import OutboxMailer
from market_ai.adapters.memory.probe import InMemoryHealthProbe
from market_ai.adapters.memory.rate_limit import InMemoryRateLimiter
from market_ai.adapters.memory.unit_of_work import InMemoryStore, InMemoryUnitOfWork
from market_ai.adapters.openai.generator import OpenAIContentGenerator, create_client
from market_ai.adapters.redis.client import create_redis
from market_ai.adapters.redis.probe import RedisHealthProbe
from market_ai.adapters.redis.queue import RedisJobQueue
from market_ai.adapters.redis.rate_limit import RedisRateLimiter
from market_ai.adapters.smtp.mailer import SmtpMailer
from market_ai.adapters.sql.content import SqlContentStore
from market_ai.adapters.sql.engine import create_engine, prepare_database, warm_pool
from market_ai.adapters.sql.probe import SqlHealthProbe
from market_ai.adapters.sql.spend_ledger import SqlSpendLedger
from market_ai.adapters.sql.unit_of_work import SqlUnitOfWork
from market_ai.domain.analysis_service import AnalysisService
from market_ai.domain.analysis_summary import ModelSummaryWriter, summary_policy
from market_ai.domain.campaign_service import CampaignService
from market_ai.domain.clock import SystemClock
from market_ai.domain.content_service import ContentService
from market_ai.domain.health import HealthService
from market_ai.domain.job_overview import JobMonitor
from market_ai.domain.job_registry import default_registry, run_by
from market_ai.domain.job_service import JobService
from market_ai.domain.jobs import RetryPolicy
from market_ai.domain.mail_service import MailService
from market_ai.domain.metrics_service import MetricsService
from market_ai.domain.ports import Clock
from market_ai.domain.spend import usd_to_micros
from market_ai.domain.spend_guard import SpendGuard, SpendPolicy
from market_ai.identity_settings import load_rsa_public_key
from market_ai.settings import Settings, SettingsError, load_settings

StorageKind = Literal["sql", "memory"]
IdentityKind = Literal["local", "clerk"]
MailKind = Literal["smtp", "outbox"]
QueueKind = Literal["redis", "memory"]
GeneratorKind = Literal["openai", "offline"]


def storage_kind(settings: Settings) -> StorageKind:
    """`memory://` keeps everything in the process; any other URL goes through SQLAlchemy."""
    return "memory" if settings.database_url == "memory://" else "sql"


def queue_kind(settings: Settings) -> QueueKind:
    """REDIS_URL selects Redis Streams; without it the queue lives in this process."""
    return "redis" if settings.redis_url is not None else "memory"


def mail_kind(settings: Settings) -> MailKind:
    """SMTP_URL sends through a mail server; without it mail goes to the local outbox."""
    return "smtp" if settings.smtp_url is not None else "outbox"


def smtp_mailer(settings: Settings) -> SmtpMailer:
    """The SMTP mailer SMTP_URL, MAIL_FROM and the SMTP_* settings describe."""
    url = settings.smtp_url.get_secret_value() if settings.smtp_url is not None else ""
    return SmtpMailer(
        url,
        settings.mail_from,
        timeout=settings.smtp_timeout_seconds,
        starttls=settings.smtp_starttls,
    )


def outbox_path(data_dir: Path) -> Path:
    """Where the embedded default writes mail: `<data dir>/outbox/`."""
    return data_dir / "outbox"


def generator_kind(settings: Settings) -> GeneratorKind:
    """OPENAI_API_KEY selects OpenAI; without it the offline generator (labelled, free)."""
    return "openai" if settings.openai_api_key is not None else "offline"


def openai_generator(settings: Settings) -> OpenAIContentGenerator:
    """The SDK client from OPENAI_API_KEY, OPENAI_BASE_URL and OPENAI_TIMEOUT_SECONDS."""
    key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else ""
    return OpenAIContentGenerator(
        create_client(key, settings.openai_base_url, settings.openai_timeout_seconds)
    )


def spend_policy(settings: Settings) -> SpendPolicy:
    """The bounds of every call and the limits spend is held to, from settings."""
    return SpendPolicy(
        model=settings.default_model,
        max_output_tokens=settings.openai_max_output_tokens,
        max_tool_calls=settings.openai_max_tool_calls,
        request_limit_micros=usd_to_micros(settings.max_budget_per_request),
        user_limit_micros=settings.user_budget_micros,
        period=settings.user_budget_period,
        call_timeout_seconds=settings.openai_timeout_seconds,
        vector_store_id=settings.openai_vector_store_id,
        max_results=settings.file_search_max_results,
        chunk_tokens=settings.file_search_chunk_tokens,
    )


def summary_spend_policy(settings: Settings) -> SpendPolicy:
    """The content policy narrowed for analysis summaries (short output, no file_search)."""
    return summary_policy(spend_policy(settings))


def identity_kind(settings: Settings) -> IdentityKind:
    """A configured identity provider wins; otherwise the local development key."""
    return "clerk" if settings.identity_provider_configured else "local"


def clerk_verifier(settings: Settings, clock: Clock) -> ClerkTokenVerifier:
    """CLERK_JWT_KEY when given (no network), else CLERK_JWKS_URL or Clerk's well-known JWKS."""
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


class Container(containers.DeclarativeContainer):
    """Settings -> resources -> adapters -> services. Nothing is built until asked for."""

    settings = providers.Singleton(load_settings)
    clock = providers.Singleton(SystemClock)

    storage = providers.Callable(storage_kind, settings)
    memory_store = providers.Singleton(InMemoryStore)
    engine = providers.Singleton(create_engine, settings)

    unit_of_work = providers.Selector(
        storage,
        sql=providers.Factory(SqlUnitOfWork, engine),
        memory=providers.Factory(InMemoryUnitOfWork, memory_store),
    )
    database_probe = providers.Selector(
        storage,
        sql=providers.Singleton(SqlHealthProbe, engine),
        memory=providers.Singleton(InMemoryHealthProbe),
    )

    token_verifier = providers.Selector(
        providers.Callable(identity_kind, settings),
        local=providers.Singleton(
            LocalKeyTokens,
            data_dir=settings.provided.data_dir,
            leeway_seconds=settings.provided.auth_leeway_seconds,
        ),
        clerk=providers.Singleton(clerk_verifier, settings, clock),
    )

    campaign_service = providers.Factory(
        CampaignService, unit_of_work=unit_of_work.provider, clock=clock
    )
    metrics_service = providers.Factory(
        MetricsService, unit_of_work=unit_of_work.provider, clock=clock
    )

    queue_backend = providers.Callable(queue_kind, settings)
    redis_client = providers.Singleton(create_redis, settings.provided.redis_url)
    job_stream = providers.Singleton(InMemoryJobStream)
    job_queue = providers.Selector(
        queue_backend,
        redis=providers.Singleton(RedisJobQueue, redis_client),
        memory=providers.Singleton(InMemoryJobQueue, job_stream),
    )
    # Filled in below the services whose `run` they call (those need the registry to enqueue).
    job_handlers = providers.Dict()
    job_registry = providers.Singleton(
        default_registry, settings.provided.job_handler_modules, handlers=job_handlers
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

    mailer = providers.Selector(
        providers.Callable(mail_kind, settings),
        smtp=providers.Singleton(smtp_mailer, settings),
        outbox=providers.Singleton(
            OutboxMailer,
            providers.Callable(outbox_path, settings.provided.data_dir),
            settings.provided.mail_from,
        ),
    )
    analysis_service = providers.Factory(
        AnalysisService, unit_of_work=unit_of_work.provider, clock=clock, jobs=job_service
    )
    mail_service = providers.Factory(
        MailService,
        unit_of_work=unit_of_work.provider,
        clock=clock,
        jobs=job_service,
        mailer=mailer,
    )
    job_handlers.add_kwargs(
        analyze_campaign=providers.Callable(run_by, analysis_service.provider),
        send_email=providers.Callable(run_by, mail_service.provider),
    )

    content_generator_kind = providers.Callable(generator_kind, settings)
    content_generator = providers.Selector(
        content_generator_kind,
        openai=providers.Singleton(openai_generator, settings),
        offline=providers.Singleton(OfflineContentGenerator),
    )
    content_store = providers.Selector(
        storage,
        sql=providers.Singleton(SqlContentStore, engine),
        memory=providers.Singleton(InMemoryContentStore),
    )
    spend_ledger = providers.Selector(
        storage,
        sql=providers.Singleton(SqlSpendLedger, engine),
        memory=providers.Singleton(InMemorySpendLedger),
    )
    price_table = providers.Singleton(settings.provided.price_table.call())
    spend_guard = providers.Factory(
        SpendGuard,
        ledger=spend_ledger,
        prices=price_table,
        clock=clock,
        policy=providers.Singleton(spend_policy, settings),
    )
    content_service = providers.Factory(
        ContentService,
        unit_of_work=unit_of_work.provider,
        clock=clock,
        jobs=job_service,
        store=content_store,
        generator=content_generator,
        guard=spend_guard,
        on_enqueued=job_wakeup.provided.set,
    )
    job_handlers.add_kwargs(generate_content=providers.Callable(run_by, content_service.provider))
    # Analyses are summarised by whatever writes content: OpenAI under the same spend rules
    # (a reservation per attempt), or, on the embedded default, sentences from the figures.
    summary_writer = providers.Selector(
        content_generator_kind,
        openai=providers.Factory(
            ModelSummaryWriter,
            generator=content_generator,
            guard=providers.Factory(
                SpendGuard,
                ledger=spend_ledger,
                prices=price_table,
                clock=clock,
                policy=providers.Singleton(summary_spend_policy, settings),
            ),
        ),
        offline=providers.Singleton(OfflineSummaryWriter),
    )
    analysis_service.add_kwargs(summary_writer=summary_writer)
    mail_service.add_kwargs(content_lookup=content_store.provided.get)  # email a stored variant
    readiness_probes = providers.Selector(
        queue_backend,
        redis=providers.List(database_probe, providers.Singleton(RedisHealthProbe, redis_client)),
        memory=providers.List(database_probe),
    )
    health_service = providers.Factory(HealthService, probes=readiness_probes)
    # REDIS_URL shares one count across instances; without it each process counts alone.
    rate_limiter = providers.Selector(
        queue_backend,
        redis=providers.Singleton(RedisRateLimiter, redis_client),
        memory=providers.Singleton(InMemoryRateLimiter),
    )


def build_container(settings: Settings | None = None) -> Container:
    """Make a container, from the environment unless `settings` is given."""
    container = Container()
    if settings is not None:
        container.settings.override(providers.Object(settings))
    return container


async def start(container: Container) -> None:
    """Open what the chosen adapters need (pools, schema); call once before serving."""
    container.settings()
    if container.storage() == "sql":
        engine = container.engine()
        try:
            await prepare_database(engine)
            await warm_pool(engine)
        except BaseException:
            await engine.dispose()  # a refused start leaves no connection behind
            raise


async def stop(container: Container) -> None:
    """Close pools and clients opened by `start`; safe to call twice."""
    if identity_kind(container.settings()) == "clerk":
        await container.token_verifier().aclose()  # the JWKS HTTP client, if one was made
    if container.content_generator_kind() == "openai":
        await container.content_generator().aclose()
    if container.storage() == "sql":
        await container.engine().dispose()
    if container.queue_backend() == "redis":
        await container.redis_client().aclose()
        container.redis_client.reset()
