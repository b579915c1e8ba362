"""Retention: finished jobs and closed spend-ledger entries go after a while, in small batches."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from datetime import timedelta

    from market_ai.domain.content_ports import SpendLedger
    from market_ai.domain.ports import Clock, UnitOfWorkFactory

PRUNE_BATCH: Final = 1000  # rows one DELETE removes: short transactions, short locks
PRUNE_BATCHES: Final = 100  # batches one round removes at most; the next round goes on


@dataclass(frozen=True, slots=True)
class Pruned:
    """What one round deleted."""

    jobs: int
    ledger_entries: int


class Retention:
    """Deletes succeeded jobs and closed ledger entries older than `keep`.

    Dead jobs stay (an operator retries or purges them); waiting, running and failed ones
    are never touched. Budgets are rows of their own, so pruning entries changes no figure.
    """

    def __init__(
        self,
        *,
        unit_of_work: UnitOfWorkFactory,
        ledger: SpendLedger,
        clock: Clock,
        keep: timedelta,
        batch: int = PRUNE_BATCH,
    ) -> None:
        self._uow = unit_of_work
        self._ledger = ledger
        self._clock = clock
        self._keep = keep
        self._batch = batch

    async def prune_once(self) -> Pruned:
        """Delete batch after batch until a short one, at most PRUNE_BATCHES of each kind."""
        before = self._clock.now() - self._keep
        jobs = entries = 0
        for _ in range(PRUNE_BATCHES):
            async with self._uow() as uow:
                deleted = await uow.jobs.prune_finished(before, limit=self._batch)
                await uow.commit()
            jobs += deleted
            if deleted < self._batch:
                break
        for _ in range(PRUNE_BATCHES):
            deleted = await self._ledger.prune(before, limit=self._batch)
            entries += deleted
            if deleted < self._batch:
                break
        return Pruned(jobs=jobs, ledger_entries=entries)
