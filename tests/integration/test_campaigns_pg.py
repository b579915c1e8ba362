"""The Postgres campaign path on psycopg itself fails and recovers like the Core path."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from market_ai.adapters.sql.campaigns_pg import PgCampaignRepository
from market_ai.adapters.sql.engine import create_engine, migrate_database
from market_ai.adapters.sql.unit_of_work import SqlUnitOfWork
from market_ai.domain.campaigns import Campaign, Channel
from market_ai.domain.errors import Unavailable
from tests.conftest import make_settings

pytestmark = pytest.mark.integration
NOW = datetime(2025, 3, 1, 12, tzinfo=UTC)


@pytest.fixture
async def engine(fresh_postgres_url: str, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    settings = make_settings(
        tmp_path, database_url=fresh_postgres_url, db_pool_min_size=1, db_pool_max_size=1
    )
    made = create_engine(settings)
    await migrate_database(made)
    yield made
    await made.dispose()


async def _kill_backend(engine: AsyncEngine, pid: int) -> None:
    async with engine.connect() as admin:
        await admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})


async def _request_on_a_connection_that_dies(
    engine: AsyncEngine, other: AsyncEngine, operation: str
) -> None:
    async with SqlUnitOfWork(engine) as uow:
        assert isinstance(uow.campaigns, PgCampaignRepository)
        connection = uow._conn
        assert connection is not None
        pid = (await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        await _kill_backend(other, pid)
        if operation == "list":
            await uow.campaigns.list("u1", offset=0, limit=20)
            return
        made = Campaign(
            owner_id="u1", name="x", channel=Channel.EMAIL, created_at=NOW, updated_at=NOW
        )
        await uow.campaigns.add(made)
        await uow.commit()


@pytest.mark.parametrize("operation", ["list", "add"])
async def test_a_connection_killed_under_a_request_is_unavailable_then_replaced(
    engine: AsyncEngine, operation: str, tmp_path: Path
) -> None:
    """A dead connection is a 503 (Unavailable), and the next request gets a fresh one."""
    other = create_engine(make_settings(tmp_path, database_url=str(engine.url)))
    try:
        with pytest.raises(Unavailable):
            await _request_on_a_connection_that_dies(engine, other, operation)
        async with SqlUnitOfWork(engine) as uow:  # the pool replaced the dead connection
            assert await uow.campaigns.list("u1", offset=0, limit=20) == ([], 0)
    finally:
        await other.dispose()
