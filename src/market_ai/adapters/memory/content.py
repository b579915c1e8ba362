"""In-memory content store and spend ledger: each operation runs without awaiting, so atomically."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from market_ai.domain.content_ports import BudgetFigures, EntryStatus, LedgerEntry

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime
    from uuid import UUID

    from market_ai.domain.content import ContentVariant


class InMemoryContentStore:
    """Variants keyed by (job, index), like the SQL table's unique constraint."""

    def __init__(self) -> None:
        self._rows: dict[tuple[UUID, int], ContentVariant] = {}

    async def add(self, variant: ContentVariant) -> bool:
        """Keep the first variant stored for (job, index)."""
        key = (variant.job_id, variant.index)
        if key in self._rows:
            return False
        self._rows[key] = variant
        return True

    async def for_job(self, job_id: UUID) -> Sequence[ContentVariant]:
        """The job's variants by index."""
        return sorted((v for (j, _), v in self._rows.items() if j == job_id), key=lambda v: v.index)

    async def list(
        self, owner_id: str, campaign_id: UUID, *, offset: int, limit: int
    ) -> tuple[Sequence[ContentVariant], int]:
        """Newest first, then by index."""
        mine = [
            v
            for v in self._rows.values()
            if v.owner_id == owner_id and v.campaign_id == campaign_id
        ]
        mine.sort(key=lambda v: (v.created_at, -v.index), reverse=True)
        return mine[offset : offset + limit], len(mine)

    async def get(
        self, owner_id: str, campaign_id: UUID, content_id: UUID
    ) -> ContentVariant | None:
        """The variant with this id, if the owner and campaign match."""
        for v in self._rows.values():
            if (v.id, v.owner_id, v.campaign_id) == (content_id, owner_id, campaign_id):
                return v
        return None


class InMemorySpendLedger:
    """The ledger for one process: check-and-hold happens between two awaits, never across one."""

    def __init__(self) -> None:
        self.budgets: dict[tuple[str, str], BudgetFigures] = {}
        self.entries_by_id: dict[UUID, LedgerEntry] = {}

    async def reserve(self, entry: LedgerEntry, limit_micros: int | None) -> bool:
        """Hold the amount if it fits, and record the entry."""
        key = (entry.owner_id, entry.period)
        held = self.budgets.get(key, BudgetFigures())
        total = held.spent_micros + held.reserved_micros + entry.reserved_micros
        if limit_micros is not None and total > limit_micros:
            return False
        self.budgets[key] = replace(
            held, reserved_micros=held.reserved_micros + entry.reserved_micros
        )
        self.entries_by_id[entry.id] = entry
        return True

    def _close(self, entry_id: UUID, status: EntryStatus, actual: int) -> None:
        entry = self.entries_by_id.get(entry_id)
        if entry is None or entry.status is not EntryStatus.RESERVED:
            return  # closed already (a retry of settle, or the sweeper got there first)
        self.entries_by_id[entry_id] = replace(entry, status=status, actual_micros=actual)
        key = (entry.owner_id, entry.period)
        held = self.budgets[key]
        self.budgets[key] = BudgetFigures(
            spent_micros=held.spent_micros + actual,
            reserved_micros=held.reserved_micros - entry.reserved_micros,
        )

    async def settle(self, entry_id: UUID, actual_micros: int, now: datetime) -> None:  # noqa: ARG002
        """Close at the actual cost."""
        self._close(entry_id, EntryStatus.SETTLED, actual_micros)

    async def release(self, entry_id: UUID, now: datetime) -> None:  # noqa: ARG002
        """Close as nothing spent."""
        self._close(entry_id, EntryStatus.RELEASED, 0)

    async def sweep(self, now: datetime) -> int:
        """Expire held entries whose time is up, counting them at what they held."""
        expired = [
            e
            for e in self.entries_by_id.values()
            if e.status is EntryStatus.RESERVED and e.expires_at < now
        ]
        for entry in expired:
            self._close(entry.id, EntryStatus.EXPIRED, entry.reserved_micros)
        return len(expired)

    async def prune(self, before: datetime, *, limit: int) -> int:
        """Drop closed entries made before then (memory keeps no closing time)."""
        old = [
            e.id
            for e in self.entries_by_id.values()
            if e.status is not EntryStatus.RESERVED and e.created_at < before
        ][:limit]
        for entry_id in old:
            del self.entries_by_id[entry_id]
        return len(old)

    async def figures(self, owner_id: str, period: str) -> BudgetFigures:
        """Spent and held for the period."""
        return self.budgets.get((owner_id, period), BudgetFigures())

    async def entries(self, job_id: UUID) -> Sequence[LedgerEntry]:
        """The job's entries, oldest first."""
        found = [e for e in self.entries_by_id.values() if e.job_id == job_id]
        return sorted(found, key=lambda e: (e.created_at, e.attempt or 0))
