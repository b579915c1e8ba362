"""Ports of content generation: the model, where variants are kept, and the spend ledger."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol
from uuid import UUID

from market_ai.domain.content import ContentVariant, Prompt
from market_ai.domain.spend import Usage


@dataclass(frozen=True, slots=True)
class CallLimits:
    """Every call is bounded; adapters must send these, never their own defaults."""

    model: str
    max_output_tokens: int
    max_tool_calls: int
    vector_store_id: str | None = None
    max_results: int = 5


@dataclass(frozen=True, slots=True)
class Generation:
    """One call's answer: the copy, the model that wrote it, usage, and cited files."""

    text: str
    model: str
    usage: Usage
    cited_file_ids: tuple[str, ...] = ()


class GenerationError(Exception):
    """The call failed; `spend_unknown` when the provider may have billed it anyway.

    Only a call that certainly was not billed (never sent, or refused with a 4xx) leaves
    `spend_unknown` False; a lost connection, a cut-off answer or a 5xx set it, and the
    call is counted at its worst case. `usage` is set when the provider answered and
    billed but gave nothing usable (e.g. an incomplete response with no text): that spend
    is recorded. The message is fixed text: it ends up in the job record.
    """

    spend_unknown: bool = False
    retryable: bool = True

    def __init__(
        self,
        message: str,
        *,
        usage: Usage | None = None,
        spend_unknown: bool | None = None,
        retryable: bool | None = None,
    ) -> None:
        super().__init__(message)
        self.usage = usage
        if spend_unknown is not None:
            self.spend_unknown = spend_unknown
        if retryable is not None:
            self.retryable = retryable


class GenerationTimeout(GenerationError):  # noqa: N818 - reads as the condition
    """No answer in time: the provider may still finish and bill, so spend is unknown."""

    spend_unknown = True


class GenerationRejected(GenerationError):  # noqa: N818
    """The provider refused the request itself (bad request, auth): retrying cannot help."""

    retryable = False


class ContentGenerator(Protocol):
    """Writes one variant per call. `priced` is False for generators that cost nothing."""

    @property
    def priced(self) -> bool:
        """Whether calls cost money (and so must be estimated, reserved and settled)."""
        ...

    async def generate(self, prompt: Prompt, limits: CallLimits) -> Generation:
        """Make exactly one bounded call (no hidden retries); raise GenerationError."""
        ...


class ContentStore(Protocol):
    """Generated variants; adding one twice for the same (job, index) is a no-op."""

    async def add(self, variant: ContentVariant) -> bool:
        """Store it; False when the job already stored that index (a redelivery)."""
        ...

    async def for_job(self, job_id: UUID) -> Sequence[ContentVariant]:
        """The variants a job stored, by index."""
        ...

    async def list(
        self, owner_id: str, campaign_id: UUID, *, offset: int, limit: int
    ) -> tuple[Sequence[ContentVariant], int]:
        """One page of a campaign's variants, newest first, and the total."""
        ...

    async def get(
        self, owner_id: str, campaign_id: UUID, content_id: UUID
    ) -> ContentVariant | None:
        """One variant by id, only if it is this owner's and this campaign's; else None."""
        ...


class EntryStatus(StrEnum):
    """A ledger entry's life: held, then settled (actual), released (nothing) or expired."""

    RESERVED = "reserved"
    SETTLED = "settled"
    RELEASED = "released"
    EXPIRED = "expired"


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """One attempt's reservation and, once closed, what it is counted at."""

    id: UUID
    owner_id: str
    period: str
    job_id: UUID | None
    attempt: int | None
    model: str
    status: EntryStatus
    reserved_micros: int
    actual_micros: int | None
    created_at: datetime
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class BudgetFigures:
    """A user's period: settled spend and what open reservations hold."""

    spent_micros: int = 0
    reserved_micros: int = 0


class SpendLedger(Protocol):
    """Reservations and spend per user and period; every operation is atomic.

    `reserve` adds `entry.reserved_micros` to the period's reservations only if spent +
    reserved + amount stays within `limit_micros` (None: no limit, still recorded), in one
    step no concurrent reserve can interleave with: that is what makes overshoot impossible.
    """

    async def reserve(self, entry: LedgerEntry, limit_micros: int | None) -> bool:
        """Hold the amount and record the entry; False (nothing recorded) when it won't fit."""
        ...

    async def settle(self, entry_id: UUID, actual_micros: int, now: datetime) -> None:
        """Close a held entry at its actual cost (0 and `release` differ only in status)."""
        ...

    async def release(self, entry_id: UUID, now: datetime) -> None:
        """Close a held entry as nothing spent (the provider refused the call)."""
        ...

    async def sweep(self, now: datetime) -> int:
        """Expire held entries past `expires_at` (their worker died), counting them in full."""
        ...

    async def figures(self, owner_id: str, period: str) -> BudgetFigures:
        """Spent and reserved for the owner's period."""
        ...

    async def prune(self, before: datetime, *, limit: int) -> int:
        """Delete up to `limit` closed entries closed before `before`; returns how many.

        Budgets are kept per period apart from the entries, so they stay exact.
        """
        ...

    async def entries(self, job_id: UUID) -> Sequence[LedgerEntry]:
        """Every attempt's entry for a job, oldest first."""
        ...
