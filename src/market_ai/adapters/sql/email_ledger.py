"""Per-recipient deliveries, daily quota and suppressions on SQLAlchemy Core (Postgres, SQLite)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from market_ai.adapters.sql.tables import email_quota, email_recipients, email_suppressions
from market_ai.domain.mail_ledger import DeliveryStatus, RecipientDelivery

if TYPE_CHECKING:
    from collections.abc import Collection, Mapping, Sequence
    from datetime import date, datetime
    from uuid import UUID

    from sqlalchemy import Table
    from sqlalchemy.ext.asyncio import AsyncConnection


def _insert(conn: AsyncConnection, table: Table) -> Any:
    """The dialect's INSERT, which knows ON CONFLICT (both spell it the same way)."""
    return (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(table)


def _values(row: RecipientDelivery) -> dict[str, Any]:
    return {
        "job_id": row.job_id,
        "address": row.address,
        "owner_id": row.owner_id,
        "status": row.status.value,
        "message_id": row.message_id,
        "detail": row.detail,
        "updated_at": row.updated_at,
    }


class SqlRecipientDeliveryLog:
    """Runs inside its unit of work's connection and transaction."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._conn = connection

    async def plan(self, rows: Sequence[RecipientDelivery]) -> int:
        """One INSERT ... ON CONFLICT DO NOTHING; counts the rows it really inserted."""
        if not rows:
            return 0
        statement = (
            _insert(self._conn, email_recipients)
            .values([_values(row) for row in rows])
            .on_conflict_do_nothing(index_elements=["job_id", "address"])
            .returning(email_recipients.c.address)
        )
        return len((await self._conn.execute(statement)).all())

    async def of_job(self, job_id: UUID) -> Mapping[str, RecipientDelivery]:
        """The job's rows by address (the primary key's prefix finds them)."""
        statement = select(email_recipients).where(email_recipients.c.job_id == job_id)
        found = {}
        for row in await self._conn.execute(statement):
            m = row._mapping  # noqa: SLF001 - SQLAlchemy's public mapping accessor
            found[m["address"]] = RecipientDelivery(**{**m, "status": DeliveryStatus(m["status"])})
        return found

    async def record(self, row: RecipientDelivery) -> None:
        """Upsert; the WHERE keeps a sent row sent whatever a late writer says."""
        insert = _insert(self._conn, email_recipients).values(_values(row))
        table = email_recipients
        statement = insert.on_conflict_do_update(
            index_elements=["job_id", "address"],
            set_={
                "status": insert.excluded.status,
                "detail": insert.excluded.detail,
                "updated_at": insert.excluded.updated_at,
            },
            where=table.c.status != DeliveryStatus.SENT.value,
        )
        await self._conn.execute(statement)


class SqlEmailQuota:
    """The reservation is one guarded upsert: the row lock orders concurrent requests."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._conn = connection

    async def reserve(self, owner_id: str, day: date, count: int, limit: int) -> int | None:
        """INSERT the day, or add to it only WHERE the total stays within `limit`.

        On Postgres a concurrent reservation for the same (owner, day) waits for the row
        lock and then re-checks the WHERE against the committed total, so instances never
        overshoot together. The caller never asks for more than `limit` at once.
        """
        insert = _insert(self._conn, email_quota).values(
            owner_id=owner_id, day=day, recipients=count
        )
        total = email_quota.c.recipients + insert.excluded.recipients
        statement = insert.on_conflict_do_update(
            index_elements=["owner_id", "day"],
            set_={"recipients": total},
            where=total <= limit,
        ).returning(email_quota.c.recipients)
        row = (await self._conn.execute(statement)).first()
        return None if row is None else int(row[0])


class SqlEmailSuppressions:
    """Addresses are stored lower-cased, so `A@x.com` and `a@x.com` are one suppression."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._conn = connection

    async def add(self, owner_id: str, address: str, at: datetime) -> bool:
        """INSERT ... ON CONFLICT DO NOTHING; whether this call added it."""
        statement = (
            _insert(self._conn, email_suppressions)
            .values(owner_id=owner_id, address=address.lower(), created_at=at)
            .on_conflict_do_nothing(index_elements=["owner_id", "address"])
            .returning(email_suppressions.c.address)
        )
        return (await self._conn.execute(statement)).first() is not None

    async def among(self, owner_id: str, addresses: Collection[str]) -> set[str]:
        """One indexed lookup for the whole list."""
        if not addresses:
            return set()
        by_key = {a.lower(): a for a in addresses}
        statement = select(email_suppressions.c.address).where(
            email_suppressions.c.owner_id == owner_id,
            email_suppressions.c.address.in_(list(by_key)),
        )
        return {by_key[found] for found in (await self._conn.execute(statement)).scalars()}
