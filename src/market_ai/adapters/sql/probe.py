"""Database readiness probe."""

from __future__ import annotations

from typing import TYPE_CHECKING

from market_ai.adapters.sql.engine import ping

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine


class SqlHealthProbe:
    """Ready when a pooled connection runs SELECT 1."""

    name = "database"

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def check(self) -> None:
        """Raise when the database cannot answer."""
        await ping(self._engine)
