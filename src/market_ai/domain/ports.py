"""Ports: what the use cases need from the outside world, as structural Protocols."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from types import TracebackType
from typing import Protocol, Self
from uuid import UUID

from market_ai.domain.analysis_store import AnalysisRepository
from market_ai.domain.campaigns import Campaign, CampaignStatus, Channel
from market_ai.domain.job_store import JobStore
from market_ai.domain.mail import EmailDeliveryLog
from market_ai.domain.mail_ledger import EmailQuota, EmailSuppressions, RecipientDeliveryLog
from market_ai.domain.metrics import DailyMetrics


class Clock(Protocol):
    """Where `now` comes from."""

    def now(self) -> datetime:
        """Return the current UTC time."""
        ...

    def today(self) -> date:
        """Return the current UTC date."""
        ...


class CampaignRepository(Protocol):
    """Campaign storage, always scoped by owner: a foreign id reads as absent."""

    async def add(self, campaign: Campaign) -> None:
        """Store a new campaign."""
        ...

    async def get(self, owner_id: str, campaign_id: UUID) -> Campaign | None:
        """Return the owner's campaign, or None."""
        ...

    async def list(
        self,
        owner_id: str,
        *,
        offset: int,
        limit: int,
        status: CampaignStatus | None = None,
        channel: Channel | None = None,
    ) -> tuple[Sequence[Campaign], int]:
        """Return one page of the owner's campaigns, newest first, and the total count."""
        ...

    async def save(self, campaign: Campaign) -> bool:
        """Store `campaign` if the stored version is `campaign.version - 1`; False if not."""
        ...

    async def delete(self, owner_id: str, campaign_id: UUID) -> bool:
        """Remove the owner's campaign; False if there was none."""
        ...


class MetricsRepository(Protocol):
    """Daily metrics keyed by (campaign, day); callers check ownership through campaigns."""

    async def upsert_many(
        self, campaign_id: UUID, rows: Sequence[DailyMetrics], now: datetime
    ) -> None:
        """Store each day, replacing a day already stored (rows hold each day once)."""
        ...

    async def list_range(self, campaign_id: UUID, start: date, end: date) -> Sequence[DailyMetrics]:
        """Return the days in [start, end], both inclusive, ordered by day."""
        ...


class UnitOfWork(Protocol):
    """One atomic piece of work: writes through its repositories commit or roll back together."""

    @property
    def campaigns(self) -> CampaignRepository:
        """The campaigns seen and changed by this unit of work."""
        ...

    @property
    def metrics(self) -> MetricsRepository:
        """The campaign metrics seen and changed by this unit of work."""
        ...

    @property
    def jobs(self) -> JobStore:
        """The job rows (the outbox) written and read by this unit of work."""
        ...

    @property
    def analyses(self) -> AnalysisRepository:
        """The campaign analyses stored by analysis jobs."""
        ...

    @property
    def email_deliveries(self) -> EmailDeliveryLog:
        """Whole-job send records written before per-recipient rows existed (read only)."""
        ...

    @property
    def email_recipients(self) -> RecipientDeliveryLog:
        """Per-recipient delivery rows of send_email jobs (also the quota's reservations)."""
        ...

    @property
    def email_quota(self) -> EmailQuota:
        """Recipients reserved per owner and day."""
        ...

    @property
    def email_suppressions(self) -> EmailSuppressions:
        """Addresses each owner must not mail (unsubscribed)."""
        ...

    async def __aenter__(self) -> Self:
        """Begin the unit of work."""
        ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """End it, rolling back whatever was not committed."""
        ...

    async def commit(self) -> None:
        """Make the writes durable."""
        ...

    async def rollback(self) -> None:
        """Discard the writes."""
        ...


UnitOfWorkFactory = Callable[[], UnitOfWork]


class HealthProbe(Protocol):
    """A dependency readiness depends on; `check` raises when it cannot answer."""

    name: str

    async def check(self) -> None:
        """Return when the dependency answered; raise otherwise."""
        ...


class TokenVerifier(Protocol):
    """Turns a bearer token into a user id; raises Unauthenticated when it cannot."""

    async def verify(self, token: str) -> str:
        """Return the token's subject (the user id)."""
        ...
