"""Fixtures the job tests on real servers share: a Redis of their own and a jobs-only Postgres."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from redis.asyncio import Redis
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncEngine

from market_ai.adapters.redis.client import create_redis
from market_ai.adapters.sql.engine import create_engine, migrate_database
from market_ai.adapters.sql.tables import jobs as jobs_table
from tests.conftest import make_settings
from tests.servers import RedisServer


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    """A fresh Redis per test, so no stream or consumer group outlives it."""
    with RedisServer(config={"maxmemory-policy": "noeviction"}) as server:
        yield server


@pytest.fixture
async def redis(redis_server: RedisServer) -> AsyncIterator[Redis]:
    client = create_redis(redis_server.url, timeout=2.0)
    yield client
    await client.aclose()


@pytest.fixture
async def engine(postgres_url: str, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    """The run's Postgres, migrated, with no job rows left by an earlier test."""
    made = create_engine(make_settings(tmp_path, database_url=postgres_url))
    await migrate_database(made)
    async with made.begin() as conn:
        await conn.execute(delete(jobs_table))
    yield made
    await made.dispose()
