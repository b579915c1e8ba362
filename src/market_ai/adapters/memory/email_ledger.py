"""In-memory per-recipient deliveries, daily quota and suppressions, staged per unit of work."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from market_ai.domain.mail_ledger import DeliveryStatus

if TYPE_CHECKING:
    from collections.abc import Collection, Mapping, Sequence
    from datetime import date, datetime
    from uuid import UUID

    from market_ai.adapters.memory.unit_of_work import InMemoryStore
    from market_ai.domain.mail_ledger import RecipientDelivery


class InMemoryRecipientDeliveryLog:
    """Keyed by (job id, address); a `sent` row stays sent, like the SQL upsert's guard."""

    def __init__(self, store: InMemoryStore) -> None:
        self._store = store
        self._staged: dict[tuple[UUID, str], RecipientDelivery] = {}

    def _get(self, key: tuple[UUID, str]) -> RecipientDelivery | None:
        return self._staged.get(key) or self._store.email_recipients.get(key)

    async def plan(self, rows: Sequence[RecipientDelivery]) -> int:
        """Stage the rows the job does not have yet."""
        new = 0
        for row in rows:
            if self._get((row.job_id, row.address)) is None:
                self._staged[row.job_id, row.address] = row
                new += 1
        return new

    async def of_job(self, job_id: UUID) -> Mapping[str, RecipientDelivery]:
        """Committed rows overlaid with this unit of work's."""
        rows = {**self._store.email_recipients, **self._staged}
        return {address: row for (job, address), row in rows.items() if job == job_id}

    async def record(self, row: RecipientDelivery) -> None:
        """Stage the new state unless the row is already sent."""
        key = (row.job_id, row.address)
        existing = self._get(key)
        if existing is not None and existing.status is DeliveryStatus.SENT:
            return
        self._staged[key] = (
            row
            if existing is None
            else replace(existing, status=row.status, detail=row.detail, updated_at=row.updated_at)
        )

    def commit(self) -> None:
        """Apply staged rows (a sent row committed meanwhile wins)."""
        for key, row in self._staged.items():
            current = self._store.email_recipients.get(key)
            if current is None or current.status is not DeliveryStatus.SENT:
                self._store.email_recipients[key] = row
        self._staged.clear()

    def rollback(self) -> None:
        """Forget staged rows."""
        self._staged.clear()


class InMemoryEmailQuota:
    """Reserves at once (no await between check and add: atomic for the event loop).

    Reservations are taken back on rollback, so a failed request leaves the count as it was.
    """

    def __init__(self, store: InMemoryStore) -> None:
        self._store = store
        self._taken: list[tuple[tuple[str, date], int]] = []

    async def reserve(self, owner_id: str, day: date, count: int, limit: int) -> int | None:
        """Add `count` to the day if it stays within `limit`."""
        key = (owner_id, day)
        total = self._store.email_quota.get(key, 0) + count
        if total > limit:
            return None
        self._store.email_quota[key] = total
        self._taken.append((key, count))
        return total

    def commit(self) -> None:
        """Keep the reservations."""
        self._taken.clear()

    def rollback(self) -> None:
        """Give back what this unit of work reserved."""
        for key, count in self._taken:
            self._store.email_quota[key] -= count
        self._taken.clear()


class InMemoryEmailSuppressions:
    """A set of (owner, address); additions staged until commit."""

    def __init__(self, store: InMemoryStore) -> None:
        self._store = store
        self._staged: dict[tuple[str, str], datetime] = {}

    async def add(self, owner_id: str, address: str, at: datetime) -> bool:
        """Stage the suppression; False if the owner already has it."""
        key = (owner_id, address.lower())
        if key in self._store.email_suppressions or key in self._staged:
            return False
        self._staged[key] = at
        return True

    async def among(self, owner_id: str, addresses: Collection[str]) -> set[str]:
        """The given addresses the owner suppressed (compared case-insensitively)."""
        return {
            a
            for a in addresses
            if (owner_id, a.lower()) in self._store.email_suppressions
            or (owner_id, a.lower()) in self._staged
        }

    def commit(self) -> None:
        """Apply staged suppressions."""
        for key, at in self._staged.items():
            self._store.email_suppressions.setdefault(key, at)
        self._staged.clear()

    def rollback(self) -> None:
        """Forget staged suppressions."""
        self._staged.clear()
