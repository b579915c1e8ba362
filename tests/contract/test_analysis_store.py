"""AnalysisRepository and EmailDeliveryLog contracts: memory, SQLite and Postgres alike."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from uuid import UUID, uuid4

from market_ai.adapters.memory.analyses import InMemoryAnalysisRepository, InMemoryEmailDeliveryLog
from market_ai.adapters.memory.unit_of_work import InMemoryStore
from market_ai.domain.analysis import Analysis
from market_ai.domain.analysis_store import AnalysisRepository
from market_ai.domain.campaigns import Campaign, Channel
from market_ai.domain.mail import EmailDelivery, EmailDeliveryLog
from market_ai.domain.ports import UnitOfWorkFactory

NOW = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)

# The fakes must satisfy the ports (checked by mypy).
_analyses: AnalysisRepository = InMemoryAnalysisRepository(InMemoryStore())
_deliveries: EmailDeliveryLog = InMemoryEmailDeliveryLog(InMemoryStore())


async def new_campaign(uow_factory: UnitOfWorkFactory) -> Campaign:
    campaign = Campaign(
        owner_id="alice", name="Launch", channel=Channel.SEARCH, created_at=NOW, updated_at=NOW
    )
    async with uow_factory() as uow:
        await uow.campaigns.add(campaign)
        await uow.commit()
    return campaign


def analysis(campaign_id: UUID, *, at: datetime = NOW, summary: str | None = None) -> Analysis:
    return Analysis(
        job_id=uuid4(),
        campaign_id=campaign_id,
        owner_id="alice",
        as_of=at.date(),
        created_at=at,
        figures={"totals": {"spend": "12.50"}, "pacing": {"status": "unknown"}},
        summary=summary,
        summary_model="offline" if summary else None,
    )


async def test_an_analysis_reads_back_as_stored(uow_factory: UnitOfWorkFactory) -> None:
    campaign = await new_campaign(uow_factory)
    stored = analysis(campaign.id, summary="On pace.")
    async with uow_factory() as uow:
        assert await uow.analyses.add(stored) == stored
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.analyses.get(stored.job_id) == stored
        assert await uow.analyses.get(uuid4()) is None


async def test_a_second_analysis_for_the_same_job_returns_the_first(
    uow_factory: UnitOfWorkFactory,
) -> None:
    campaign = await new_campaign(uow_factory)
    first = analysis(campaign.id)
    twin = replace(first, as_of=date(2026, 3, 11), created_at=NOW + timedelta(hours=1), figures={})
    async with uow_factory() as uow:
        await uow.analyses.add(first)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.analyses.add(twin) == first
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.analyses.get(first.job_id) == first


async def test_latest_is_the_newest_of_the_campaign(uow_factory: UnitOfWorkFactory) -> None:
    campaign, other = await new_campaign(uow_factory), await new_campaign(uow_factory)
    older = analysis(campaign.id, at=NOW)
    newer = analysis(campaign.id, at=NOW + timedelta(minutes=5))
    async with uow_factory() as uow:
        assert await uow.analyses.latest(campaign.id) is None
        for item in (newer, older, analysis(other.id, at=NOW + timedelta(days=1))):
            await uow.analyses.add(item)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.analyses.latest(campaign.id) == newer


async def test_an_uncommitted_analysis_is_gone(uow_factory: UnitOfWorkFactory) -> None:
    campaign = await new_campaign(uow_factory)
    dropped = analysis(campaign.id)
    async with uow_factory() as uow:
        await uow.analyses.add(dropped)
    async with uow_factory() as uow:
        assert await uow.analyses.get(dropped.job_id) is None


async def test_a_delivery_is_recorded_once_per_job(uow_factory: UnitOfWorkFactory) -> None:
    delivery = EmailDelivery(
        job_id=uuid4(),
        campaign_id=uuid4(),  # no foreign key: the record outlives its campaign
        owner_id="alice",
        message_id="<job-1@example.com>",
        recipients=("a@example.com", "b@example.com"),
        subject="Weekly",
        sent_at=NOW,
    )
    async with uow_factory() as uow:
        assert await uow.email_deliveries.get(delivery.job_id) is None
        assert await uow.email_deliveries.record(delivery) == delivery
        await uow.commit()
    later = replace(delivery, sent_at=NOW + timedelta(minutes=1), subject="Other")
    async with uow_factory() as uow:
        assert await uow.email_deliveries.record(later) == delivery
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.email_deliveries.get(delivery.job_id) == delivery
