"""Email bookkeeping: per-recipient delivery rows, the daily recipient quota, suppressions."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Protocol
from uuid import UUID


class DeliveryStatus(StrEnum):
    """Where one recipient of one send_email job stands.

    `pending` is written at enqueue (it is also the quota's reservation); `deferred` is a
    4xx for this address (retried); `sent`, `refused` (5xx) and `suppressed` are final.
    """

    PENDING = "pending"
    SENT = "sent"
    DEFERRED = "deferred"
    REFUSED = "refused"
    SUPPRESSED = "suppressed"


FINAL = frozenset({DeliveryStatus.SENT, DeliveryStatus.REFUSED, DeliveryStatus.SUPPRESSED})


@dataclass(frozen=True, slots=True)
class RecipientDelivery:
    """One (job, address) row; `detail` is a fixed text such as "SMTP server refused (550)"."""

    job_id: UUID
    address: str
    owner_id: str
    status: DeliveryStatus
    message_id: str
    updated_at: datetime
    detail: str | None = None


class RecipientDeliveryLog(Protocol):
    """Per-recipient delivery rows inside one unit of work."""

    async def plan(self, rows: Sequence[RecipientDelivery]) -> int:
        """Insert the rows a job does not have yet; how many were new (a replay adds none)."""
        ...

    async def of_job(self, job_id: UUID) -> Mapping[str, RecipientDelivery]:
        """The job's rows by address."""
        ...

    async def record(self, row: RecipientDelivery) -> None:
        """Insert or update the row; a `sent` row is never changed again."""
        ...


class EmailQuota(Protocol):
    """Recipients reserved per owner and UTC day, shared by every instance."""

    async def reserve(self, owner_id: str, day: date, count: int, limit: int) -> int | None:
        """Add `count` if the day's total stays within `limit`: the new total, or None."""
        ...


class EmailSuppressions(Protocol):
    """Addresses an owner must not mail again (they unsubscribed)."""

    async def add(self, owner_id: str, address: str, at: datetime) -> bool:
        """Suppress the address; False if it already was."""
        ...

    async def among(self, owner_id: str, addresses: Collection[str]) -> set[str]:
        """Which of `addresses` the owner must skip."""
        ...


def quota_resets_at(day: date) -> datetime:
    """A day's quota ends at the next UTC midnight."""
    return datetime.combine(day + timedelta(days=1), time(), tzinfo=UTC)
