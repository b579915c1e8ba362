"""Campaigns, metrics and job services on memory adapters with a fixed clock, for use cases."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from market_ai.adapters.memory.unit_of_work import InMemoryStore, InMemoryUnitOfWork
from market_ai.domain.campaigns import Campaign, Channel
from market_ai.domain.clock import FixedClock
from market_ai.domain.job_registry import default_registry
from market_ai.domain.job_service import JobService
from market_ai.domain.jobs import Job, JobContext
from market_ai.domain.metrics import DailyMetrics

NOW = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


class ServiceRig:
    """A store, a clock at NOW and a JobService whose registry knows every job type."""

    def __init__(self) -> None:
        self.store = InMemoryStore()
        self.clock = FixedClock(NOW)
        self.jobs = JobService(self.uow, self.clock, default_registry())

    def uow(self) -> InMemoryUnitOfWork:
        return InMemoryUnitOfWork(self.store)

    async def campaign(self, owner: str = "alice", **values: Any) -> Campaign:
        campaign = Campaign(
            owner_id=owner,
            name="Spring launch",
            channel=Channel.SEARCH,
            created_at=NOW,
            updated_at=NOW,
            **values,
        )
        async with self.uow() as uow:
            await uow.campaigns.add(campaign)
            await uow.commit()
        return campaign

    async def metrics(self, campaign_id: UUID, rows: Sequence[DailyMetrics]) -> None:
        async with self.uow() as uow:
            await uow.metrics.upsert_many(campaign_id, rows, NOW)
            await uow.commit()

    async def delete(self, campaign: Campaign) -> None:
        async with self.uow() as uow:
            await uow.campaigns.delete(campaign.owner_id, campaign.id)
            await uow.commit()


def context(job: Job, attempt: int = 1) -> JobContext:
    """What a worker hands the handler for `job`'s `attempt`-th start."""
    return JobContext(job.id, attempt, job.owner_id, job.type, job.payload)


def row(day: date, spend: str = "10", revenue: str = "25", conversions: int = 2) -> DailyMetrics:
    return DailyMetrics(
        day=day,
        impressions=1000,
        clicks=20,
        conversions=conversions,
        spend=Decimal(spend),
        revenue=Decimal(revenue),
    )
