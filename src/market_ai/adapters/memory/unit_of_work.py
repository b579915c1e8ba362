"""In-memory unit of work over a process-wide store."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Self
from uuid import UUID

from market_ai.adapters.memory.analyses import InMemoryAnalysisRepository, InMemoryEmailDeliveryLog
from market_ai.adapters.memory.campaigns import InMemoryCampaignRepository
from market_ai.adapters.memory.email_ledger import (
    InMemoryEmailQuota,
    InMemoryEmailSuppressions,
    InMemoryRecipientDeliveryLog,
)
from market_ai.adapters.memory.jobs import InMemoryJobStore
from market_ai.adapters.memory.metrics import InMemoryMetricsRepository

if TYPE_CHECKING:
    from datetime import date, datetime
    from types import TracebackType

    from market_ai.domain.analysis import Analysis
    from market_ai.domain.campaigns import Campaign
    from market_ai.domain.jobs import Job
    from market_ai.domain.mail import EmailDelivery
    from market_ai.domain.mail_ledger import RecipientDelivery
    from market_ai.domain.metrics import DailyMetrics


@dataclass
class InMemoryStore:
    """What the in-memory adapters hold; one per container, shared by its units of work."""

    campaigns: dict[UUID, Campaign] = field(default_factory=dict)
    metrics: dict[UUID, dict[date, DailyMetrics]] = field(default_factory=dict)
    jobs: dict[UUID, Job] = field(default_factory=dict)
    analyses: dict[UUID, Analysis] = field(default_factory=dict)
    email_deliveries: dict[UUID, EmailDelivery] = field(default_factory=dict)
    email_recipients: dict[tuple[UUID, str], RecipientDelivery] = field(default_factory=dict)
    email_quota: dict[tuple[str, date], int] = field(default_factory=dict)
    email_suppressions: dict[tuple[str, str], datetime] = field(default_factory=dict)


class InMemoryUnitOfWork:
    """Stages writes and applies them all at commit, so a failed use case leaves no trace."""

    def __init__(self, store: InMemoryStore) -> None:
        self.store = store
        self.campaigns = InMemoryCampaignRepository(store)
        self.metrics = InMemoryMetricsRepository(store)
        self.jobs = InMemoryJobStore(store)
        self.analyses = InMemoryAnalysisRepository(store)
        self.email_deliveries = InMemoryEmailDeliveryLog(store)
        self.email_recipients = InMemoryRecipientDeliveryLog(store)
        self.email_quota = InMemoryEmailQuota(store)
        self.email_suppressions = InMemoryEmailSuppressions(store)
        self.committed = False

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.rollback()

    async def commit(self) -> None:
        """Apply every staged write (no await inside: atomic for the event loop)."""
        jobs = self.jobs.prepare()  # checks first: a Conflict here leaves nothing applied
        self.campaigns.commit()
        self.metrics.commit()
        self.jobs.apply(jobs)
        self.analyses.commit()
        self.email_deliveries.commit()
        self.email_recipients.commit()
        self.email_quota.commit()
        self.email_suppressions.commit()
        self.committed = True

    async def rollback(self) -> None:
        """Discard what was not committed."""
        self.campaigns.rollback()
        self.metrics.rollback()
        self.jobs.rollback()
        self.analyses.rollback()
        self.email_deliveries.rollback()
        self.email_recipients.rollback()
        self.email_quota.rollback()
        self.email_suppressions.rollback()
