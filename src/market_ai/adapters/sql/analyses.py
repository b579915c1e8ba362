"""Analyses and email deliveries on SQLAlchemy Core: insert once per job id, read back."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import Table, select
from sqlalchemy.dialects import postgresql, sqlite

from market_ai.adapters.sql.tables import campaign_analyses, email_deliveries
from market_ai.domain.analysis import Analysis
from market_ai.domain.mail import EmailDelivery

if TYPE_CHECKING:
    from uuid import UUID

    from sqlalchemy import Row
    from sqlalchemy.ext.asyncio import AsyncConnection


async def _insert_once(conn: AsyncConnection, table: Table, row: dict[str, Any]) -> bool:
    """INSERT ... ON CONFLICT (job_id) DO NOTHING; whether this call inserted the row.

    On Postgres a concurrent insert for the same job waits for the other transaction and
    then inserts nothing, so two attempts racing past their checks still store one row.
    """
    dialect = conn.dialect.name
    insert: Any = postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)
    statement = insert.values(row).on_conflict_do_nothing(index_elements=["job_id"])
    return (await conn.execute(statement.returning(table.c.job_id))).first() is not None


def _analysis(row: Row[Any]) -> Analysis:
    return Analysis(**row._mapping)  # noqa: SLF001 - SQLAlchemy's public mapping accessor


def _delivery(row: Row[Any]) -> EmailDelivery:
    m = row._mapping  # noqa: SLF001 - SQLAlchemy's public mapping accessor
    return EmailDelivery(**{**m, "recipients": tuple(m["recipients"])})


class SqlAnalysisRepository:
    """Runs inside its unit of work's connection and transaction."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._conn = connection

    async def add(self, analysis: Analysis) -> Analysis:
        """Insert, or return the analysis the same job stored first."""
        row = {
            "job_id": analysis.job_id,
            "campaign_id": analysis.campaign_id,
            "owner_id": analysis.owner_id,
            "as_of": analysis.as_of,
            "created_at": analysis.created_at,
            "figures": dict(analysis.figures),
            "summary": analysis.summary,
            "summary_model": analysis.summary_model,
        }
        if await _insert_once(self._conn, campaign_analyses, row):
            return analysis
        existing = await self.get(analysis.job_id)
        if existing is None:  # the rival transaction rolled back after all: try once more
            return await self.add(analysis)
        return existing

    async def get(self, job_id: UUID) -> Analysis | None:
        """Read one analysis by its job id."""
        statement = select(campaign_analyses).where(campaign_analyses.c.job_id == job_id)
        row = (await self._conn.execute(statement)).first()
        return None if row is None else _analysis(row)

    async def latest(self, campaign_id: UUID) -> Analysis | None:
        """Newest first by the (campaign_id, created_at) index."""
        statement = (
            select(campaign_analyses)
            .where(campaign_analyses.c.campaign_id == campaign_id)
            .order_by(campaign_analyses.c.created_at.desc(), campaign_analyses.c.job_id.desc())
            .limit(1)
        )
        row = (await self._conn.execute(statement)).first()
        return None if row is None else _analysis(row)


class SqlEmailDeliveryLog:
    """Runs inside its unit of work's connection and transaction."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._conn = connection

    async def get(self, job_id: UUID) -> EmailDelivery | None:
        """The delivery recorded for the job, or None."""
        statement = select(email_deliveries).where(email_deliveries.c.job_id == job_id)
        row = (await self._conn.execute(statement)).first()
        return None if row is None else _delivery(row)

    async def record(self, delivery: EmailDelivery) -> EmailDelivery:
        """Insert, or return the record of the same job's earlier send."""
        row = {
            "job_id": delivery.job_id,
            "campaign_id": delivery.campaign_id,
            "owner_id": delivery.owner_id,
            "message_id": delivery.message_id,
            "recipients": list(delivery.recipients),
            "subject": delivery.subject,
            "sent_at": delivery.sent_at,
        }
        if await _insert_once(self._conn, email_deliveries, row):
            return delivery
        existing = await self.get(delivery.job_id)
        if existing is None:
            return await self.record(delivery)
        return existing
