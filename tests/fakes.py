"""Test-only doubles: repositories and units of work that fail or record on purpose."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Self

from market_ai.adapters.memory.unit_of_work import InMemoryStore, InMemoryUnitOfWork
from market_ai.domain.errors import Unavailable

if TYPE_CHECKING:
    from types import TracebackType
    from uuid import UUID

    from market_ai.domain.analysis_store import AnalysisRepository
    from market_ai.domain.campaigns import Campaign, CampaignStatus, Channel
    from market_ai.domain.job_store import JobStore
    from market_ai.domain.mail import EmailDeliveryLog
    from market_ai.domain.mail_ledger import EmailQuota, EmailSuppressions, RecipientDeliveryLog
    from market_ai.domain.ports import (
        CampaignRepository,
        MetricsRepository,
        UnitOfWork,
        UnitOfWorkFactory,
    )


class RaceStart:
    """Holds the first `parties` reads until all of them have read, so their saves collide.

    Later reads pass straight through, so a writer that lost the race retries unhindered.
    """

    def __init__(self, parties: int) -> None:
        self._barrier = asyncio.Barrier(parties)
        self._left = parties

    async def wait(self) -> None:
        """Wait for the other racers (only while the race has not started yet)."""
        if self._left > 0:
            self._left -= 1
            await self._barrier.wait()


class _DelegatingCampaignRepository:
    """Passes every call to `inner`; subclasses change one behaviour."""

    def __init__(self, inner: CampaignRepository) -> None:
        self.inner = inner

    async def add(self, campaign: Campaign) -> None:
        await self.inner.add(campaign)

    async def get(self, owner_id: str, campaign_id: UUID) -> Campaign | None:
        return await self.inner.get(owner_id, campaign_id)

    async def list(
        self,
        owner_id: str,
        *,
        offset: int,
        limit: int,
        status: CampaignStatus | None = None,
        channel: Channel | None = None,
    ) -> tuple[Sequence[Campaign], int]:
        return await self.inner.list(
            owner_id, offset=offset, limit=limit, status=status, channel=channel
        )

    async def save(self, campaign: Campaign) -> bool:
        return await self.inner.save(campaign)

    async def delete(self, owner_id: str, campaign_id: UUID) -> bool:
        return await self.inner.delete(owner_id, campaign_id)


class RecordingCampaignRepository(_DelegatingCampaignRepository):
    """Records every save's outcome in `saves` (shared across units of work).

    With a `race`, each read waits for the other racers after reading, so all of them
    start from the same version, as concurrent requests on separate connections would.
    """

    def __init__(
        self, inner: CampaignRepository, saves: list[bool], race: RaceStart | None = None
    ) -> None:
        super().__init__(inner)
        self.saves = saves
        self._race = race

    async def get(self, owner_id: str, campaign_id: UUID) -> Campaign | None:
        campaign = await self.inner.get(owner_id, campaign_id)
        if self._race is not None:
            await self._race.wait()
        return campaign

    async def save(self, campaign: Campaign) -> bool:
        saved = await self.inner.save(campaign)
        self.saves.append(saved)
        return saved


class FailingCampaignRepository(_DelegatingCampaignRepository):
    """Every save reports a lost race, as if another writer always got there first."""

    def __init__(self, inner: CampaignRepository, attempts: list[Campaign]) -> None:
        super().__init__(inner)
        self.attempts = attempts

    async def save(self, campaign: Campaign) -> bool:
        self.attempts.append(campaign)
        return False


class WrappingUnitOfWork:
    """A real unit of work whose `campaigns` is a double wrapped around its own."""

    def __init__(
        self,
        inner: UnitOfWork,
        wrap: Callable[[CampaignRepository], CampaignRepository] = lambda repo: repo,
    ) -> None:
        self.inner = inner
        self._wrap = wrap
        self._campaigns: CampaignRepository | None = None

    @property
    def campaigns(self) -> CampaignRepository:
        if self._campaigns is None:
            raise RuntimeError("campaigns used outside of the unit of work")
        return self._campaigns

    @property
    def metrics(self) -> MetricsRepository:
        return self.inner.metrics

    @property
    def jobs(self) -> JobStore:
        return self.inner.jobs

    @property
    def analyses(self) -> AnalysisRepository:
        return self.inner.analyses

    @property
    def email_deliveries(self) -> EmailDeliveryLog:
        return self.inner.email_deliveries

    @property
    def email_recipients(self) -> RecipientDeliveryLog:
        return self.inner.email_recipients

    @property
    def email_quota(self) -> EmailQuota:
        return self.inner.email_quota

    @property
    def email_suppressions(self) -> EmailSuppressions:
        return self.inner.email_suppressions

    async def __aenter__(self) -> Self:
        await self.inner.__aenter__()
        self._campaigns = self._wrap(self.inner.campaigns)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.inner.__aexit__(exc_type, exc, tb)

    async def commit(self) -> None:
        await self.inner.commit()

    async def rollback(self) -> None:
        await self.inner.rollback()


class FailingUnitOfWork(WrappingUnitOfWork):
    """Stages writes like the real one, then fails to commit (a database gone mid-request)."""

    async def commit(self) -> None:
        raise Unavailable("the database went away during commit")


def racing_units_of_work(
    store: InMemoryStore, saves: list[bool], race: RaceStart
) -> UnitOfWorkFactory:
    """In-memory units of work whose reads meet at `race` and whose saves are recorded."""

    def wrap(repo: CampaignRepository) -> CampaignRepository:
        return RecordingCampaignRepository(repo, saves, race)

    return lambda: WrappingUnitOfWork(InMemoryUnitOfWork(store), wrap)


def losing_units_of_work(store: InMemoryStore, attempts: list[Campaign]) -> UnitOfWorkFactory:
    """In-memory units of work where every save loses the race (and is recorded)."""

    def wrap(repo: CampaignRepository) -> CampaignRepository:
        return FailingCampaignRepository(repo, attempts)

    return lambda: WrappingUnitOfWork(InMemoryUnitOfWork(store), wrap)
