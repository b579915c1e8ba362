"""The spend ledger on SQL: a guarded UPDATE of the period's budget row makes holds atomic.

`UPDATE spend_budgets SET reserved = reserved + :amount WHERE owner, period AND spent +
reserved + :amount <= :limit` takes the row's lock. On Postgres a concurrent reserve waits
for that lock and then re-evaluates the condition against the committed row (READ
COMMITTED's re-check of updated rows), so no two holds can both pass on the same room. On
SQLite every transaction here starts with a write, so they run one at a time. Either way the
check and the hold are one step: overshoot is impossible, not just unlikely.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select, text, update

from market_ai.adapters.sql.content import insert_for, transaction
from market_ai.adapters.sql.tables import spend_budgets, spend_ledger
from market_ai.domain.content_ports import BudgetFigures, EntryStatus, LedgerEntry

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime
    from uuid import UUID

    from sqlalchemy.engine import RowMapping
    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

_B = spend_budgets.c
_L = spend_ledger.c


def _entry(r: RowMapping) -> LedgerEntry:
    return LedgerEntry(
        id=r["id"],
        owner_id=r["owner_id"],
        period=r["period"],
        job_id=r["job_id"],
        attempt=r["attempt"],
        model=r["model"],
        status=EntryStatus(r["status"]),
        reserved_micros=r["reserved_micros"],
        actual_micros=r["actual_micros"],
        created_at=r["created_at"],
        expires_at=r["expires_at"],
    )


async def _adjust(  # noqa: PLR0913 - the row's key and the two deltas
    conn: AsyncConnection, owner_id: str, period: str, *, reserved: int, spent: int, now: datetime
) -> None:
    await conn.execute(
        update(spend_budgets)
        .where((_B.owner_id == owner_id) & (_B.period == period))
        .values(
            reserved_micros=_B.reserved_micros + reserved,
            spent_micros=_B.spent_micros + spent,
            updated_at=now,
        )
    )


class SqlSpendLedger:
    """Budget rows and ledger entries in the application database (Postgres or SQLite)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def reserve(self, entry: LedgerEntry, limit_micros: int | None) -> bool:
        """Create the period's row if needed, then the guarded hold, then the entry."""
        amount = entry.reserved_micros
        async with transaction(self._engine) as conn:
            row: dict[str, Any] = {
                "owner_id": entry.owner_id,
                "period": entry.period,
                "spent_micros": 0,
                "reserved_micros": 0,
                "updated_at": entry.created_at,
            }
            await conn.execute(insert_for(conn)(spend_budgets).values(row).on_conflict_do_nothing())
            hold = (
                update(spend_budgets)
                .where((_B.owner_id == entry.owner_id) & (_B.period == entry.period))
                .values(reserved_micros=_B.reserved_micros + amount, updated_at=entry.created_at)
            )
            if limit_micros is not None:
                hold = hold.where(_B.spent_micros + _B.reserved_micros + amount <= limit_micros)
            if (await conn.execute(hold)).rowcount != 1:
                return False
            await conn.execute(
                spend_ledger.insert().values(
                    id=entry.id,
                    owner_id=entry.owner_id,
                    period=entry.period,
                    job_id=entry.job_id,
                    attempt=entry.attempt,
                    model=entry.model,
                    status=EntryStatus.RESERVED.value,
                    reserved_micros=amount,
                    actual_micros=None,
                    created_at=entry.created_at,
                    expires_at=entry.expires_at,
                )
            )
        return True

    async def _close(self, entry_id: UUID, status: EntryStatus, actual: int, now: datetime) -> None:
        """Only a held entry closes (guarded by status), so settling twice counts once."""
        async with transaction(self._engine) as conn:
            closed = (
                update(spend_ledger)
                .where((_L.id == entry_id) & (_L.status == EntryStatus.RESERVED.value))
                .values(status=status.value, actual_micros=actual, closed_at=now)
                .returning(_L.owner_id, _L.period, _L.reserved_micros)
            )
            row = (await conn.execute(closed)).mappings().first()
            if row is not None:
                held = row["reserved_micros"]
                await _adjust(
                    conn, row["owner_id"], row["period"], reserved=-held, spent=actual, now=now
                )

    async def settle(self, entry_id: UUID, actual_micros: int, now: datetime) -> None:
        """Close at the actual cost."""
        await self._close(entry_id, EntryStatus.SETTLED, actual_micros, now)

    async def release(self, entry_id: UUID, now: datetime) -> None:
        """Close as nothing spent."""
        await self._close(entry_id, EntryStatus.RELEASED, 0, now)

    async def sweep(self, now: datetime) -> int:
        """Expire held entries past their time, counting each at what it held."""
        async with transaction(self._engine) as conn:
            expired = (
                update(spend_ledger)
                .where((_L.status == EntryStatus.RESERVED.value) & (_L.expires_at < now))
                .values(
                    status=EntryStatus.EXPIRED.value,
                    actual_micros=_L.reserved_micros,
                    closed_at=now,
                )
                .returning(_L.owner_id, _L.period, _L.reserved_micros)
            )
            rows = (await conn.execute(expired)).mappings().all()
            held: dict[tuple[str, str], int] = {}
            for row in rows:
                key = (row["owner_id"], row["period"])
                held[key] = held.get(key, 0) + row["reserved_micros"]
            for (owner_id, period), amount in sorted(held.items()):  # one lock order for all
                await _adjust(conn, owner_id, period, reserved=-amount, spent=amount, now=now)
        return len(rows)

    async def figures(self, owner_id: str, period: str) -> BudgetFigures:
        """Spent and held for the period."""
        query = select(_B.spent_micros, _B.reserved_micros).where(
            (_B.owner_id == owner_id) & (_B.period == period)
        )
        async with transaction(self._engine) as conn:
            row = (await conn.execute(query)).first()
        if row is None:
            return BudgetFigures()
        return BudgetFigures(spent_micros=row[0], reserved_micros=row[1])

    async def prune(self, before: datetime, *, limit: int) -> int:
        """DELETE a batch of closed entries the partial index finds, oldest first."""
        closed = text("status <> 'reserved'")  # ix_spend_ledger_closed's predicate
        batch = (
            select(_L.id).where(closed, _L.closed_at < before).order_by(_L.closed_at).limit(limit)
        )
        async with transaction(self._engine) as conn:
            result = await conn.execute(
                delete(spend_ledger).where(_L.id.in_(batch.scalar_subquery()), closed)
            )
        return int(result.rowcount)

    async def entries(self, job_id: UUID) -> Sequence[LedgerEntry]:
        """The job's entries, oldest first."""
        query = select(spend_ledger).where(_L.job_id == job_id).order_by(_L.created_at, _L.attempt)
        async with transaction(self._engine) as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [_entry(r) for r in rows]
