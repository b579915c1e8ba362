"""Unit of work on one connection and one transaction; database failures become Unavailable."""

from __future__ import annotations

from typing import TYPE_CHECKING, Self

from sqlalchemy import exc as sa_exc

from market_ai.adapters.sql.analyses import SqlAnalysisRepository, SqlEmailDeliveryLog
from market_ai.adapters.sql.campaigns import SqlCampaignRepository
from market_ai.adapters.sql.jobs import SqlJobStore
from market_ai.adapters.sql.metrics import SqlMetricsRepository
from market_ai.domain.errors import Unavailable

if TYPE_CHECKING:
    from types import TracebackType

    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

_UNREACHABLE = (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError)


def _campaign_repository(engine: AsyncEngine) -> type[SqlCampaignRepository]:
    """On Postgres the hot campaign statements run on psycopg itself (campaigns_pg)."""
    if engine.dialect.name == "postgresql":
        from market_ai.adapters.sql.campaigns_pg import PgCampaignRepository  # noqa: PLC0415

        return PgCampaignRepository
    return SqlCampaignRepository


class SqlUnitOfWork:
    """Everything done through `campaigns` (and later repositories) commits or rolls back as one."""

    campaigns: SqlCampaignRepository
    metrics: SqlMetricsRepository
    jobs: SqlJobStore
    analyses: SqlAnalysisRepository
    email_deliveries: SqlEmailDeliveryLog

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._conn: AsyncConnection | None = None

    async def __aenter__(self) -> Self:
        try:
            self._conn = await self._engine.connect()
            await self._conn.begin()
        except _UNREACHABLE as error:
            await self._close()
            raise Unavailable("the database cannot be reached") from error
        self.campaigns = _campaign_repository(self._engine)(self._conn)
        self.metrics = SqlMetricsRepository(self._conn)
        self.jobs = SqlJobStore(self._conn)
        self.analyses = SqlAnalysisRepository(self._conn)
        self.email_deliveries = SqlEmailDeliveryLog(self._conn)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            await self.rollback()
        finally:
            await self._close()
        if isinstance(exc, _UNREACHABLE):
            raise Unavailable("the database cannot be reached") from exc

    async def commit(self) -> None:
        """Commit the transaction."""
        if self._conn is None:
            raise RuntimeError("commit outside of the unit of work")
        try:
            await self._conn.commit()
        except _UNREACHABLE as error:
            raise Unavailable("the database cannot be reached") from error

    async def rollback(self) -> None:
        """Roll back whatever is not committed (no-op after commit)."""
        if self._conn is not None and self._conn.in_transaction():
            try:
                await self._conn.rollback()
            except _UNREACHABLE:
                await self._conn.invalidate()

    async def _close(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            try:
                await conn.close()
            except _UNREACHABLE:
                return
