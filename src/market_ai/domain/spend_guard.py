"""The spend rules around model calls: price before, reserve atomically, settle after."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, Literal
from uuid import UUID, uuid4

from market_ai.domain.content import Prompt
from market_ai.domain.content_ports import (
    CallLimits,
    EntryStatus,
    Generation,
    LedgerEntry,
    SpendLedger,
)
from market_ai.domain.errors import BudgetExceeded
from market_ai.domain.ports import Clock
from market_ai.domain.pricing import PriceTable, UnpricedModel, snapshot_of
from market_ai.domain.spend import (
    CallBounds,
    Usage,
    actual_micros,
    input_token_bound,
    micros_to_usd,
    worst_case_micros,
)

log = logging.getLogger(__name__)

Period = Literal["day", "month"]
RESERVATION_SLACK: Final = timedelta(seconds=60)  # time around the calls (storing, settling)
SpendMeter = Callable[[str, Usage, int], None]  # model, usage, micro-USD of one answered call


@dataclass(frozen=True, slots=True)
class SpendPolicy:
    """The bounds every call is made under and the limits spend is held to (micro-USD)."""

    model: str
    max_output_tokens: int
    max_tool_calls: int
    request_limit_micros: int
    user_limit_micros: int | None = None
    period: Period = "month"
    call_timeout_seconds: float = 30.0
    vector_store_id: str | None = None
    max_results: int = 5
    chunk_tokens: int = 800

    @property
    def bounds(self) -> CallBounds:
        """What caps a call, for the worst-case estimate."""
        return CallBounds(
            max_output_tokens=self.max_output_tokens,
            max_tool_calls=self.max_tool_calls,
            file_search=self.vector_store_id is not None,
            max_results=self.max_results,
            chunk_tokens=self.chunk_tokens,
        )

    @property
    def limits(self) -> CallLimits:
        """What the generator must send with each call."""
        return CallLimits(
            model=self.model,
            max_output_tokens=self.max_output_tokens,
            max_tool_calls=self.max_tool_calls,
            vector_store_id=self.vector_store_id,
            max_results=self.max_results,
        )


def period_key(now: datetime, period: Period) -> str:
    """The budget period `now` falls in (UTC): `2025-01-31` or `2025-01`."""
    return now.strftime("%Y-%m-%d" if period == "day" else "%Y-%m")


def _usd(micros: int) -> str:
    return f"USD {micros_to_usd(micros)}"


class SpendGuard:
    """Prices calls from the policy and the price table, and keeps the ledger."""

    def __init__(
        self,
        ledger: SpendLedger,
        prices: PriceTable,
        clock: Clock,
        policy: SpendPolicy,
        meter: SpendMeter | None = None,
    ) -> None:
        self._meter = meter  # told of every answered call: model, usage, cost (metrics)
        self._ledger = ledger
        self._prices = prices
        self._clock = clock
        self.policy = policy

    def call_worst_case(self, prompt: Prompt) -> int:
        """The most one call with `prompt` can cost; UnpricedModel when it cannot be priced."""
        price = self._prices.lookup(self.policy.model, self._clock.today())
        bounds = self.policy.bounds
        bound = input_token_bound(prompt.texts, bounds)
        return worst_case_micros(price, self._prices.file_search_call, bound, bounds)

    def check_request(self, worst_micros: int) -> None:
        """MAX_BUDGET_PER_REQUEST: a request whose worst case exceeds it is never made."""
        if worst_micros > self.policy.request_limit_micros:
            raise BudgetExceeded(
                f"worst-case cost {_usd(worst_micros)} exceeds MAX_BUDGET_PER_REQUEST "
                f"{_usd(self.policy.request_limit_micros)}: refused before any model call"
            )

    async def check_attempt(self, job_id: UUID, worst_micros: int) -> None:
        """MAX_BUDGET_PER_REQUEST bounds the whole request: every attempt, summed.

        What earlier attempts are counted at (settled at their cost, still held at their
        reservation) plus this attempt's worst case must fit, so retries cannot multiply
        the ceiling. Attempts of one job never overlap (the job's lease fences them).
        """
        self.check_request(worst_micros)
        entries = await self._ledger.entries(job_id)
        counted = sum(
            e.reserved_micros if e.actual_micros is None else e.actual_micros for e in entries
        )
        limit = self.policy.request_limit_micros
        if counted + worst_micros > limit:
            raise BudgetExceeded(
                f"this request's {len(entries)} earlier attempt(s) count {_usd(counted)}; "
                f"another one's worst case {_usd(worst_micros)} would pass "
                f"MAX_BUDGET_PER_REQUEST {_usd(limit)}: refused before any model call"
            )

    async def check_user(self, owner_id: str, worst_micros: int) -> None:
        """An early, non-binding look at the user's budget (the reservation is what binds)."""
        limit = self.policy.user_limit_micros
        if limit is None:
            return
        figures = await self._ledger.figures(owner_id, self._period())
        if figures.spent_micros + figures.reserved_micros + worst_micros > limit:
            raise BudgetExceeded(self._user_refusal(worst_micros, limit))

    async def reserve(
        self, owner_id: str, job_id: UUID, attempt: int, amount: int, calls: int
    ) -> LedgerEntry:
        """Hold `amount` for this attempt, atomically against the user's budget.

        Expired holds are swept first, so a dead worker's reservation frees the budget
        (counted in full: its calls may have been billed) without a separate process.
        The hold outlives every call of the attempt (calls x timeout, plus slack).
        """
        now = self._clock.now()
        await self._ledger.sweep(now)
        ttl = timedelta(seconds=calls * self.policy.call_timeout_seconds) + RESERVATION_SLACK
        entry = LedgerEntry(
            id=uuid4(),
            owner_id=owner_id,
            period=self._period(),
            job_id=job_id,
            attempt=attempt,
            model=self.policy.model,
            status=EntryStatus.RESERVED,
            reserved_micros=amount,
            actual_micros=None,
            created_at=now,
            expires_at=now + ttl,
        )
        limit = self.policy.user_limit_micros
        if not await self._ledger.reserve(entry, limit):
            raise BudgetExceeded(self._user_refusal(amount, limit or 0))
        return entry

    def cost(self, generation: Generation) -> int:
        """The actual cost of one answer: its usage at the price of the model asked for.

        That is what was reserved and what the operator priced (a MODEL_PRICES entry for
        `gpt-4o-mini` covers answers naming its snapshot). An answer naming another model
        (a gateway that rerouted) is priced at the dearer of the two when that model has a
        price, and at the one asked for otherwise: never at zero, never below either.
        """
        today = self._clock.today()
        asked = self.policy.model
        fee = self._prices.file_search_call
        amount = actual_micros(self._prices.lookup(asked, today), fee, generation.usage)
        answered = generation.model
        if answered in {asked, ""} or snapshot_of(answered, asked):
            return self._metered(generation, amount)
        try:
            other = self._prices.lookup(answered, today)
        except UnpricedModel:
            log.warning("spend.unpriced_answer asked=%s answered=%s", asked, answered)
            return self._metered(generation, amount)
        return self._metered(generation, max(amount, actual_micros(other, fee, generation.usage)))

    def _metered(self, generation: Generation, micros: int) -> int:
        """Report the answer's tokens and cost to the metrics meter, when one is attached."""
        if self._meter is not None:
            self._meter(generation.model, generation.usage, micros)
        return micros

    async def close(self, entry: LedgerEntry, spent_micros: int, *, billed: bool) -> None:
        """Settle at what was spent, or release when no call was billed at all."""
        now = self._clock.now()
        if spent_micros > entry.reserved_micros:
            log.warning(
                "spend.over_reservation entry=%s reserved=%d actual=%d",
                entry.id,
                entry.reserved_micros,
                spent_micros,
            )
        if billed:
            await self._ledger.settle(entry.id, spent_micros, now)
        else:
            await self._ledger.release(entry.id, now)

    async def job_spend(self, job_id: UUID) -> int:
        """What every attempt of a job was counted at (closed entries only)."""
        entries = await self._ledger.entries(job_id)
        return sum(e.actual_micros or 0 for e in entries)

    def _period(self) -> str:
        return period_key(self._clock.now(), self.policy.period)

    def _user_refusal(self, amount: int, limit: int) -> str:
        return (
            f"per-user budget for {self._period()} ({_usd(limit)}) cannot hold this request's "
            f"worst case {_usd(amount)}: refused before any model call"
        )
