"""Services: the use cases, made afresh on every call.

They get `unit_of_work.provider`, the factory rather than one unit of work, so each operation
opens its own; every other port arrives already chosen by the sub-container that owns it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dependency_injector import containers, providers

from market_ai.domain.analysis_service import AnalysisService
from market_ai.domain.campaign_service import CampaignService
from market_ai.domain.content_service import ContentService
from market_ai.domain.mail_service import MailService
from market_ai.domain.metrics_service import MetricsService
from market_ai.domain.unsubscribe import UnsubscribeService

if TYPE_CHECKING:
    import asyncio

    from market_ai.domain.analysis_service import SummaryWriter
    from market_ai.domain.content_ports import ContentGenerator, ContentStore
    from market_ai.domain.job_service import JobService
    from market_ai.domain.mail import Mailer
    from market_ai.domain.ports import Clock, UnitOfWork
    from market_ai.domain.read_cache import ReadCache
    from market_ai.domain.spend_guard import SpendGuard
    from market_ai.domain.unsubscribe import UnsubscribeLinks
    from market_ai.settings import Settings


class Services(containers.DeclarativeContainer):
    """Campaigns, metrics, analyses, mail and content."""

    settings: providers.Dependency[Settings] = providers.Dependency()
    unit_of_work: providers.Dependency[UnitOfWork] = providers.Dependency()
    clock: providers.Dependency[Clock] = providers.Dependency()
    job_service: providers.Dependency[JobService] = providers.Dependency()
    job_wakeup: providers.Dependency[asyncio.Event] = providers.Dependency()
    mailer: providers.Dependency[Mailer] = providers.Dependency()
    content_store: providers.Dependency[ContentStore] = providers.Dependency()
    content_generator: providers.Dependency[ContentGenerator] = providers.Dependency()
    spend_guard: providers.Dependency[SpendGuard] = providers.Dependency()
    summary_writer: providers.Dependency[SummaryWriter] = providers.Dependency()
    unsubscribe_links: providers.Dependency[UnsubscribeLinks] = providers.Dependency()
    read_cache: providers.Dependency[ReadCache | None] = providers.Dependency()

    campaign_service = providers.Factory(
        CampaignService, unit_of_work=unit_of_work.provider, clock=clock, reads=read_cache
    )
    metrics_service = providers.Factory(
        MetricsService, unit_of_work=unit_of_work.provider, clock=clock, reads=read_cache
    )
    analysis_service = providers.Factory(
        AnalysisService,
        unit_of_work=unit_of_work.provider,
        clock=clock,
        jobs=job_service,
        summary_writer=summary_writer,
        reads=read_cache,
    )
    mail_service = providers.Factory(
        MailService,
        unit_of_work=unit_of_work.provider,
        clock=clock,
        jobs=job_service,
        mailer=mailer,
        content_lookup=content_store.provided.get,  # email a stored variant
        links=unsubscribe_links,
        recipients_per_day=settings.provided.email_recipients_per_day,
    )
    unsubscribe_service = providers.Factory(
        UnsubscribeService, unit_of_work=unit_of_work.provider, clock=clock, links=unsubscribe_links
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
