"""The campaign routes a dashboard calls most, run on psycopg itself (Postgres only).

SQLAlchemy builds and compiles these statements once; each request then runs the SQL on the
unit of work's own driver connection (same connection, same transaction), skipping the
execution layer and its greenlet bridge, and maps tuples straight to campaigns. psycopg
prepares a statement after a few uses on a connection (its `prepare_threshold`, settable in
the URL for a pooler that cannot keep prepared statements).

Round trips: a list that opens its unit of work runs alone in autocommit (no BEGIN, and the
rollback that closes the unit of work then has nothing to send); a create sends BEGIN with
its INSERT in one pipeline. Driver errors become SQLAlchemy's, so callers see the same
errors (and a dead connection is invalidated) as on the Core path.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from datetime import UTC
from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING, Any, Final

import psycopg
from psycopg import pq
from sqlalchemy import exc as sa_exc
from sqlalchemy import insert
from sqlalchemy.dialects.postgresql.psycopg import dialect as psycopg_dialect

from market_ai.adapters.sql.campaigns import SqlCampaignRepository, _to_row, list_statements
from market_ai.adapters.sql.tables import campaigns
from market_ai.domain.campaigns import Campaign, CampaignStatus, Channel
from market_ai.domain.errors import Conflict

if TYPE_CHECKING:
    from psycopg import AsyncConnection
    from sqlalchemy.sql import ClauseElement

_CHANNELS: Final = {channel.value: channel for channel in Channel}  # dict lookups: no Enum()
_STATUSES: Final = {status.value: status for status in CampaignStatus}
_DIALECT: Final = psycopg_dialect()  # type: ignore[no-untyped-call]


def _compiled(statement: ClauseElement) -> tuple[str, dict[str, Any]]:
    compiled = statement.compile(dialect=_DIALECT)
    return compiled.string, {k: v for k, v in compiled.params.items() if v is not None}


_INSERT: Final = _compiled(insert(campaigns))[0]


@cache
def _list_sql(*, status: bool, channel: bool) -> tuple[str, str, dict[str, Any]]:
    """Page and total statements for one filter shape, compiled once per process."""
    page, total = list_statements(
        status=CampaignStatus.DRAFT if status else None,
        channel=Channel.EMAIL if channel else None,
    )
    page_sql, defaults = _compiled(page)
    return page_sql, _compiled(total)[0], defaults


def _campaign(row: tuple[Any, ...]) -> Campaign:
    return Campaign(
        id=row[0],
        owner_id=row[1],
        name=row[2],
        channel=_CHANNELS[row[3]],
        status=_STATUSES[row[4]],
        budget=Decimal(row[5]).scaleb(-2),  # minor units to 2 places, as quantize would
        currency=row[6],
        starts_on=row[7],
        ends_on=row[8],
        audience=row[9],
        brief=row[10],
        created_at=row[11].astimezone(UTC),
        updated_at=row[12].astimezone(UTC),
        version=row[13],
    )


class PgCampaignRepository(SqlCampaignRepository):
    """SqlCampaignRepository with `add` and `list` on the driver connection."""

    async def _driver(self) -> AsyncConnection[Any]:
        raw = await self._conn.get_raw_connection()
        driver: AsyncConnection[Any] = raw.driver_connection  # type: ignore[assignment]
        return driver

    async def _failed(self, error: psycopg.Error, sql: str, params: Any) -> sa_exc.StatementError:
        """Translate as SQLAlchemy would, invalidating a connection that is gone."""
        try:
            driver = await self._driver()
            gone = driver.closed or driver.pgconn.status == pq.ConnStatus.BAD
        except sa_exc.SQLAlchemyError:
            gone = True  # already invalidated or closed under us
        if gone or isinstance(error, psycopg.OperationalError):
            with contextlib.suppress(sa_exc.SQLAlchemyError):
                await self._conn.invalidate()
        return sa_exc.DBAPIError.instance(
            sql, params, error, psycopg.Error, connection_invalidated=gone
        )

    async def add(self, campaign: Campaign) -> None:
        """Insert; BEGIN (if the transaction is not open yet) rides in the same pipeline."""
        row = _to_row(campaign)
        row["created_at"] = campaign.created_at.astimezone(UTC)
        row["updated_at"] = campaign.updated_at.astimezone(UTC)
        driver = await self._driver()
        try:
            async with driver.pipeline(), driver.cursor() as cursor:
                await cursor.execute(_INSERT, row)
        except psycopg.errors.UniqueViolation as error:
            raise Conflict(f"campaign {campaign.id} already exists") from error
        except psycopg.Error as error:
            raise await self._failed(error, _INSERT, row) from error

    async def list(
        self,
        owner_id: str,
        *,
        offset: int,
        limit: int,
        status: CampaignStatus | None = None,
        channel: Channel | None = None,
    ) -> tuple[Sequence[Campaign], int]:
        """One page and its total from one statement (see campaigns.list_statements)."""
        page_sql, total_sql, defaults = _list_sql(
            status=status is not None, channel=channel is not None
        )
        params: dict[str, Any] = {**defaults, "owner_id": owner_id}
        if status is not None:
            params["status"] = status.value
        if channel is not None:
            params["channel"] = channel.value
        driver = await self._driver()
        alone = driver.info.transaction_status == pq.TransactionStatus.IDLE
        try:
            if alone:  # one statement is its own snapshot: no BEGIN/ROLLBACK round trips
                await driver.set_autocommit(True)
            try:
                async with driver.cursor() as cursor:
                    await cursor.execute(page_sql, {**params, "offset": offset, "limit": limit})
                    rows = await cursor.fetchall()
                    if rows:
                        total = rows[0][-1]
                    elif offset == 0:
                        total = 0
                    else:
                        await cursor.execute(total_sql, params)
                        found = await cursor.fetchone()
                        total = found[0] if found else 0
            finally:
                if alone and not driver.closed:
                    await driver.set_autocommit(False)
        except psycopg.Error as error:
            raise await self._failed(error, page_sql, params) from error
        return [_campaign(row) for row in rows], int(total)
