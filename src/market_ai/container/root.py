"""The root container: wires the sub-containers together and opens and closes what they hold.

Entrypoints, tests and library users reach providers by the flat names below
(`container.campaign_service()`, `container.unit_of_work.override(...)`). Each one is the
sub-container's own provider, not a copy, so overriding it here overrides it wherever it is
injected.
"""

from __future__ import annotations

from dependency_injector import containers, providers

from market_ai.container.cache import Cache
from market_ai.container.content import Content
from market_ai.container.health import Health
from market_ai.container.http_edge import HttpEdge, identity_kind
from market_ai.container.infrastructure import Infrastructure
from market_ai.container.jobs import Jobs
from market_ai.container.mail import Mail
from market_ai.container.services import Services
from market_ai.domain.job_registry import run_by
from market_ai.settings import Settings, load_settings


class _Wired(containers.DynamicContainer):
    """What `Container()` returns: resets undo the caller's overrides, not the wiring.

    `providers.Container(Sub, name=provider)` wires by overriding Sub's `Dependency`
    placeholders, and the stock resets would clear those along with the caller's overrides,
    leaving every sub-container unwired after a test's `reset_override()`.
    """

    def reset_override(self) -> None:
        super().reset_override()
        self.apply_container_providers_overridings()

    def reset_last_overriding(self) -> None:
        super().reset_last_overriding()
        self.apply_container_providers_overridings()


class Container(containers.DeclarativeContainer):
    """Settings -> resources -> adapters -> services. Nothing is built until asked for."""

    instance_type = _Wired  # the class of the instances `Container()` makes

    settings = providers.Singleton(load_settings)

    infrastructure = providers.Container(Infrastructure, settings=settings)
    clock = infrastructure.container.clock
    storage = infrastructure.container.storage
    memory_store = infrastructure.container.memory_store
    engine = infrastructure.container.engine
    unit_of_work = infrastructure.container.unit_of_work
    queue_backend = infrastructure.container.queue_backend
    redis_client = infrastructure.container.redis_client

    health = providers.Container(
        Health,
        storage=storage,
        engine=engine,
        queue_backend=queue_backend,
        redis_client=redis_client,
    )
    database_probe = health.container.database_probe
    readiness_probes = health.container.readiness_probes
    health_service = health.container.health_service

    http_edge = providers.Container(
        HttpEdge,
        settings=settings,
        clock=clock,
        queue_backend=queue_backend,
        redis_client=redis_client,
    )
    token_verifier = http_edge.container.token_verifier
    rate_limiter = http_edge.container.rate_limiter

    # Filled in at the end with the services whose `run` they call: those enqueue through
    # `job_service`, which needs the registry these handlers go into.
    job_handlers = providers.Dict()
    jobs = providers.Container(
        Jobs,
        settings=settings,
        clock=clock,
        unit_of_work=unit_of_work,
        queue_backend=queue_backend,
        redis_client=redis_client,
        handlers=job_handlers,
    )
    job_stream = jobs.container.job_stream
    job_queue = jobs.container.job_queue
    job_registry = jobs.container.job_registry
    retry_policy = jobs.container.retry_policy
    job_wakeup = jobs.container.job_wakeup
    job_service = jobs.container.job_service
    job_monitor = jobs.container.job_monitor

    mail = providers.Container(Mail, settings=settings)
    mailer = mail.container.mailer
    unsubscribe_links = mail.container.unsubscribe_links

    content = providers.Container(
        Content, settings=settings, clock=clock, storage=storage, engine=engine
    )
    content_generator_kind = content.container.content_generator_kind
    content_generator = content.container.content_generator
    content_store = content.container.content_store
    spend_ledger = content.container.spend_ledger
    price_table = content.container.price_table
    spend_guard = content.container.spend_guard
    summary_writer = content.container.summary_writer

    cache = providers.Container(Cache, settings=settings)
    cache_kind = cache.container.cache_kind
    cache_store = cache.container.cache_store
    redis_cache = cache.container.redis_cache
    cache_redis_client = cache.container.cache_redis_client
    read_cache = cache.container.read_cache

    services = providers.Container(
        Services,
        settings=settings,
        read_cache=read_cache,
        unit_of_work=unit_of_work,
        clock=clock,
        job_service=job_service,
        job_wakeup=job_wakeup,
        mailer=mailer,
        content_store=content_store,
        content_generator=content_generator,
        spend_guard=spend_guard,
        summary_writer=summary_writer,
        unsubscribe_links=unsubscribe_links,
    )
    campaign_service = services.container.campaign_service
    metrics_service = services.container.metrics_service
    analysis_service = services.container.analysis_service
    mail_service = services.container.mail_service
    unsubscribe_service = services.container.unsubscribe_service
    content_service = services.container.content_service

    job_handlers.add_kwargs(
        analyze_campaign=providers.Callable(run_by, analysis_service.provider),
        send_email=providers.Callable(run_by, mail_service.provider),
        generate_content=providers.Callable(run_by, content_service.provider),
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
        from market_ai.adapters.sql.engine import prepare_database, warm_pool  # noqa: PLC0415

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
    if container.cache_kind() == "redis":
        await container.redis_cache().aclose()
        container.redis_cache.reset()
        container.cache_redis_client.reset()
        container.read_cache.reset()
    if container.queue_backend() == "redis":
        await container.redis_client().aclose()
        container.redis_client.reset()
