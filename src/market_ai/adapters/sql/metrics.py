"""Metrics repository on SQLAlchemy Core: one upsert per batch, money as exact micro-units."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import exc as sa_exc
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from market_ai.adapters.sql.tables import campaign_metrics
from market_ai.domain.errors import NotFound
from market_ai.domain.metrics import MONEY_PLACES, DailyMetrics, canonical_money

if TYPE_CHECKING:
    from datetime import date, datetime
    from uuid import UUID

    from sqlalchemy import Row
    from sqlalchemy.ext.asyncio import AsyncConnection

_VALUES: Final = ("impressions", "clicks", "conversions", "spend_micros", "revenue_micros")


def to_micros(amount: Decimal) -> int:
    """Exact conversion; an amount finer than a micro-unit is a bug upstream, not rounded."""
    micros = amount.scaleb(MONEY_PLACES)
    if micros != micros.to_integral_value():
        raise ValueError(f"{amount} has more than {MONEY_PLACES} decimal places")
    return int(micros)


def from_micros(micros: int) -> Decimal:
    """Back to the canonical Decimal the domain hands out (2 to 6 places)."""
    return canonical_money(Decimal(micros).scaleb(-MONEY_PLACES))


def _to_row(campaign_id: UUID, row: DailyMetrics, now: datetime) -> dict[str, Any]:
    return {
        "campaign_id": campaign_id,
        "day": row.day,
        "impressions": row.impressions,
        "clicks": row.clicks,
        "conversions": row.conversions,
        "spend_micros": to_micros(row.spend),
        "revenue_micros": to_micros(row.revenue),
        "updated_at": now,
    }


def _from_row(row: Row[Any]) -> DailyMetrics:
    m = row._mapping  # noqa: SLF001 - SQLAlchemy's public mapping accessor
    return DailyMetrics(
        day=m["day"],
        impressions=m["impressions"],
        clicks=m["clicks"],
        conversions=m["conversions"],
        spend=from_micros(m["spend_micros"]),
        revenue=from_micros(m["revenue_micros"]),
    )


class SqlMetricsRepository:
    """Runs inside its unit of work's connection and transaction."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._conn = connection

    async def upsert_many(
        self, campaign_id: UUID, rows: Sequence[DailyMetrics], now: datetime
    ) -> None:
        """INSERT ... ON CONFLICT (campaign_id, day) DO UPDATE, executed once for the batch.

        A foreign-key failure means the campaign was deleted after the caller checked it.
        """
        if not rows:
            return
        dialect = self._conn.dialect.name
        if dialect == "postgresql":
            pg = postgresql.insert(campaign_metrics)
            statement: Any = pg.on_conflict_do_update(
                index_elements=["campaign_id", "day"],
                set_={name: pg.excluded[name] for name in (*_VALUES, "updated_at")},
            )
        elif dialect == "sqlite":
            lite = sqlite.insert(campaign_metrics)
            statement = lite.on_conflict_do_update(
                index_elements=["campaign_id", "day"],
                set_={name: lite.excluded[name] for name in (*_VALUES, "updated_at")},
            )
        else:
            raise NotImplementedError(f"no upsert for the {dialect} dialect")
        try:
            await self._conn.execute(statement, [_to_row(campaign_id, r, now) for r in rows])
        except sa_exc.IntegrityError as error:
            if "foreign key" in str(error.orig).lower():
                raise NotFound("campaign not found") from error
            raise

    async def list_range(self, campaign_id: UUID, start: date, end: date) -> Sequence[DailyMetrics]:
        """Return the days in [start, end] in date order (a primary-key range scan)."""
        result = await self._conn.execute(
            select(campaign_metrics)
            .where(
                campaign_metrics.c.campaign_id == campaign_id,
                campaign_metrics.c.day >= start,
                campaign_metrics.c.day <= end,
            )
            .order_by(campaign_metrics.c.day)
        )
        return [_from_row(row) for row in result]
