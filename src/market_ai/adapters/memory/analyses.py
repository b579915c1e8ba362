"""In-memory analyses and email deliveries: writes are staged until the unit of work commits."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from uuid import UUID

    from market_ai.adapters.memory.unit_of_work import InMemoryStore
    from market_ai.domain.analysis import Analysis
    from market_ai.domain.mail import EmailDelivery


class InMemoryAnalysisRepository:
    """Keyed by job id; the first analysis stored for a job wins, like the SQL primary key."""

    def __init__(self, store: InMemoryStore) -> None:
        self._store = store
        self._staged: dict[UUID, Analysis] = {}

    async def add(self, analysis: Analysis) -> Analysis:
        """Stage it, or return the one stored or staged for the same job."""
        existing = await self.get(analysis.job_id)
        if existing is not None:
            return existing
        self._staged[analysis.job_id] = analysis
        return analysis

    async def get(self, job_id: UUID) -> Analysis | None:
        """Committed or staged by this unit of work."""
        return self._staged.get(job_id) or self._store.analyses.get(job_id)

    async def latest(self, campaign_id: UUID) -> Analysis | None:
        """Newest by creation time, then job id (a stable order for equal times)."""
        mine = [
            a
            for a in (*self._store.analyses.values(), *self._staged.values())
            if a.campaign_id == campaign_id
        ]
        return max(mine, key=lambda a: (a.created_at, str(a.job_id)), default=None)

    def commit(self) -> None:
        """Apply; a campaign deleted meanwhile takes its analyses along, like the SQL FK."""
        for job_id, analysis in self._staged.items():
            if analysis.campaign_id in self._store.campaigns:
                self._store.analyses.setdefault(job_id, analysis)
        self._staged.clear()

    def rollback(self) -> None:
        """Forget staged analyses."""
        self._staged.clear()


class InMemoryEmailDeliveryLog:
    """Keyed by job id; the first record for a job wins."""

    def __init__(self, store: InMemoryStore) -> None:
        self._store = store
        self._staged: dict[UUID, EmailDelivery] = {}

    async def get(self, job_id: UUID) -> EmailDelivery | None:
        """Committed or staged by this unit of work."""
        return self._staged.get(job_id) or self._store.email_deliveries.get(job_id)

    async def record(self, delivery: EmailDelivery) -> EmailDelivery:
        """Stage it, or return the record stored or staged for the same job."""
        existing = await self.get(delivery.job_id)
        if existing is not None:
            return existing
        self._staged[delivery.job_id] = delivery
        return delivery

    def commit(self) -> None:
        """Apply staged records (first one per job wins)."""
        for job_id, delivery in self._staged.items():
            self._store.email_deliveries.setdefault(job_id, delivery)
        self._staged.clear()

    def rollback(self) -> None:
        """Forget staged records."""
        self._staged.clear()
