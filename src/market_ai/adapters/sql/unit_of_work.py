"""Unit of work on one connection and one transaction; database failures become Unavailable."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Self

from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.util import greenlet_spawn

from market_ai.adapters.sql.analyses import SqlAnalysisRepository, SqlEmailDeliveryLog
from market_ai.adapters.sql.campaigns import SqlCampaignRepository
from market_ai.adapters.sql.email_ledger import (
    SqlEmailQuota,
    SqlEmailSuppressions,
    SqlRecipientDeliveryLog,
)
from market_ai.adapters.sql.jobs import SqlJobStore
from market_ai.adapters.sql.metrics import SqlMetricsRepository
from market_ai.domain.errors import Unavailable

if TYPE_CHECKING:
    from types import TracebackType

    from sqlalchemy import Connection, Engine
    from sqlalchemy.ext.asyncio import AsyncEngine

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
    email_recipients: SqlRecipientDeliveryLog
    email_quota: SqlEmailQuota
    email_suppressions: SqlEmailSuppressions

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._conn: AsyncConnection | None = None

    async def __aenter__(self) -> Self:
        try:  # checkout and begin in one trip through SQLAlchemy's greenlet bridge
            opened = await greenlet_spawn(_open, self._engine.sync_engine)
        except _UNREACHABLE as error:
            raise Unavailable("the database cannot be reached") from error
        self._conn = AsyncConnection(self._engine, opened)
        self.campaigns = _campaign_repository(self._engine)(self._conn)
        self.metrics = SqlMetricsRepository(self._conn)
        self.jobs = SqlJobStore(self._conn)
        self.analyses = SqlAnalysisRepository(self._conn)
        self.email_deliveries = SqlEmailDeliveryLog(self._conn)
        self.email_recipients = SqlRecipientDeliveryLog(self._conn)
        self.email_quota = SqlEmailQuota(self._conn)
        self.email_suppressions = SqlEmailSuppressions(self._conn)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            await greenlet_spawn(_finish, conn.sync_connection)  # rollback + close, one trip
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


def _open(engine: Engine) -> Connection:
    connection = engine.connect()
    try:
        connection.begin()
    except BaseException:
        connection.close()
        raise
    return connection


def _finish(connection: Connection | None) -> None:
    """Roll back whatever is not committed (nothing after a commit), then hand it back."""
    if connection is None:
        return
    try:
        if connection.in_transaction():
            try:
                connection.rollback()
            except _UNREACHABLE:
                connection.invalidate()
    finally:
        with contextlib.suppress(*_UNREACHABLE):
            connection.close()
