"""In-memory metrics repository: writes are staged until its unit of work commits."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from datetime import date, datetime
    from uuid import UUID

    from market_ai.adapters.memory.unit_of_work import InMemoryStore
    from market_ai.domain.metrics import DailyMetrics


class InMemoryMetricsRepository:
    """Reads see committed days plus this unit of work's own staged days."""

    def __init__(self, store: InMemoryStore) -> None:
        self._store = store
        self._staged: dict[UUID, dict[date, DailyMetrics]] = {}

    async def upsert_many(
        self,
        campaign_id: UUID,
        rows: Sequence[DailyMetrics],
        now: datetime,  # noqa: ARG002 - only SQL keeps a row's write time
    ) -> None:
        """Stage each day, replacing one already stored or staged."""
        staged = self._staged.setdefault(campaign_id, {})
        for row in rows:
            staged[row.day] = row

    async def list_range(self, campaign_id: UUID, start: date, end: date) -> Sequence[DailyMetrics]:
        """Return the days in [start, end], ordered by day."""
        days = {
            **self._store.metrics.get(campaign_id, {}),
            **self._staged.get(campaign_id, {}),
        }
        return [days[day] for day in sorted(days) if start <= day <= end]

    def commit(self) -> None:
        """Apply staged days; a campaign deleted meanwhile takes them along, like the SQL FK."""
        for campaign_id, days in self._staged.items():
            if campaign_id in self._store.campaigns:
                self._store.metrics.setdefault(campaign_id, {}).update(days)
        self._staged.clear()

    def rollback(self) -> None:
        """Forget staged days."""
        self._staged.clear()
