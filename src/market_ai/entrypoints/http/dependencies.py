"""Typed providers that hand container-built services to route handlers, and the lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from litestar import Litestar
from litestar.di import Provide

from market_ai.container import Container, start, stop
from market_ai.domain.analysis_service import AnalysisService
from market_ai.domain.campaign_service import CampaignService
from market_ai.domain.content_service import ContentService
from market_ai.domain.health import HealthService
from market_ai.domain.job_overview import JobMonitor
from market_ai.domain.job_service import JobService
from market_ai.domain.mail_service import MailService
from market_ai.domain.metrics_service import MetricsService
from market_ai.domain.unsubscribe import UnsubscribeService
from market_ai.entrypoints.http.detailed_health import DetailedHealth
from market_ai.entrypoints.worker.embedded import embedded_worker


def dependencies(container: Container) -> dict[str, Provide]:
    """One `Provide` per service; each call builds a fresh, cheap service object."""

    def campaign_service() -> CampaignService:
        return container.campaign_service()

    def health_service() -> HealthService:
        return container.health_service()

    def metrics_service() -> MetricsService:
        return container.metrics_service()

    def job_service() -> JobService:
        return container.job_service()

    def job_monitor() -> JobMonitor:
        return container.job_monitor()

    def analysis_service() -> AnalysisService:
        return container.analysis_service()

    def mail_service() -> MailService:
        return container.mail_service()

    def content_service() -> ContentService:
        return container.content_service()

    def unsubscribe_service() -> UnsubscribeService:
        return container.unsubscribe_service()

    return {
        "campaigns": Provide(campaign_service, sync_to_thread=False),
        "content": Provide(content_service, sync_to_thread=False),
        "health": Provide(health_service, sync_to_thread=False),
        "detailed_health": _detailed_health(container),
        "metrics": Provide(metrics_service, sync_to_thread=False),
        "jobs": Provide(job_service, sync_to_thread=False),
        "job_monitor": Provide(job_monitor, sync_to_thread=False),
        "analyses": Provide(analysis_service, sync_to_thread=False),
        "mail": Provide(mail_service, sync_to_thread=False),
        "unsubscribes": Provide(unsubscribe_service, sync_to_thread=False),
    }


def _detailed_health(container: Container) -> Provide:
    """One report shared by every request of this app (concurrent probes share its work)."""
    settings = container.settings()
    operator = settings.operator_token
    shared_health = DetailedHealth(
        container.health_service,
        container.job_monitor,
        operator_token=operator.get_secret_value() if operator else None,
        host_figures_for_all=not settings.is_production,
    )

    def detailed_health() -> DetailedHealth:
        return shared_health

    return Provide(detailed_health, sync_to_thread=False)


def lifespan(container: Container) -> Callable[[Litestar], AbstractAsyncContextManager[None]]:
    """Open the container's pools when the app starts and close them when it stops."""

    @asynccontextmanager
    async def run(app: Litestar) -> AsyncIterator[None]:
        await start(container)
        app.state["token_verifier"] = container.token_verifier()
        try:
            async with embedded_worker(container):  # stops (drains) before the pools close
                yield
        finally:
            await stop(container)

    return run
