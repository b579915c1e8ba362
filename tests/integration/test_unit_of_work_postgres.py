"""The SQL unit of work on real Postgres: atomic writes, timeouts in force, pool limits kept."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import exc as sa_exc
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from market_ai.adapters.sql.engine import create_engine, migrate_database, warm_pool
from market_ai.adapters.sql.unit_of_work import SqlUnitOfWork
from market_ai.domain.campaigns import Campaign, Channel
from market_ai.domain.errors import Conflict, Unavailable
from tests.conftest import make_settings

pytestmark = pytest.mark.integration
NOW = datetime(2025, 3, 1, 12, tzinfo=UTC)
VIOLATION = (Conflict, sa_exc.IntegrityError)


def campaign(name: str) -> Campaign:
    return Campaign(owner_id="u1", name=name, channel=Channel.EMAIL, created_at=NOW, updated_at=NOW)


@pytest.fixture
async def engine_with(
    fresh_postgres_url: str, tmp_path: Path
) -> AsyncIterator[Callable[..., AsyncEngine]]:
    """Engines on one migrated database, each with its own pool settings."""
    made: list[AsyncEngine] = []

    def make(**settings: Any) -> AsyncEngine:
        made.append(
            create_engine(make_settings(tmp_path, database_url=fresh_postgres_url, **settings))
        )
        return made[-1]

    migrating = create_engine(make_settings(tmp_path, database_url=fresh_postgres_url))
    try:
        await migrate_database(migrating)
    finally:
        await migrating.dispose()
    yield make
    for engine in made:
        await engine.dispose()


def connection_of(uow: SqlUnitOfWork) -> AsyncConnection:
    assert uow._conn is not None
    return uow._conn


async def stored_names(engine: AsyncEngine) -> list[str]:
    async with SqlUnitOfWork(engine) as uow:
        page, _ = await uow.campaigns.list("u1", offset=0, limit=100)
    return sorted(c.name for c in page)


async def add_all(engine: AsyncEngine, *campaigns: Campaign, fail: bool = False) -> None:
    """One use case that writes several campaigns, then fails or commits."""
    async with SqlUnitOfWork(engine) as uow:
        for each in campaigns:
            await uow.campaigns.add(each)
        if fail:
            raise RuntimeError("second step failed")
        await uow.commit()


def names_constraint(error: BaseException, name: str) -> bool:
    """The database's own refusal, whether the adapter passed it on or turned it into Conflict."""
    return any(name in str(each) for each in (error, error.__cause__))


async def test_an_error_before_commit_rolls_back_the_earlier_write(
    engine_with: Callable[..., AsyncEngine],
) -> None:
    engine = engine_with()
    with pytest.raises(RuntimeError, match="second step failed"):
        await add_all(engine, campaign("First"), fail=True)
    assert await stored_names(engine) == []


async def test_a_constraint_violation_on_the_second_write_rolls_back_the_first(
    engine_with: Callable[..., AsyncEngine],
) -> None:
    engine = engine_with()
    kept = campaign("Kept")
    await add_all(engine, kept)

    duplicate = replace(campaign("Clash"), id=kept.id)  # primary key taken
    with pytest.raises(VIOLATION) as refused:
        await add_all(engine, campaign("Lost"), duplicate)
    assert names_constraint(refused.value, "pk_campaigns")
    assert await stored_names(engine) == ["Kept"]

    version_zero = replace(campaign("Zero"), version=0)  # breaks ck_campaigns_version_positive
    with pytest.raises(VIOLATION) as refused:
        await add_all(engine, campaign("Also lost"), version_zero)
    assert names_constraint(refused.value, "ck_campaigns_version_positive")
    assert await stored_names(engine) == ["Kept"]


async def test_statement_timeout_is_set_on_every_connection_and_enforced(
    engine_with: Callable[..., AsyncEngine],
) -> None:
    engine = engine_with(db_statement_timeout=1)
    async with SqlUnitOfWork(engine) as uow:
        assert await connection_of(uow).scalar(text("SHOW statement_timeout")) == "1s"
    with pytest.raises(Unavailable) as stopped:
        async with SqlUnitOfWork(engine) as uow:
            await connection_of(uow).execute(text("SELECT pg_sleep(3)"))
    assert "statement timeout" in str(stopped.value.__cause__)
    async with SqlUnitOfWork(engine) as uow:  # the pool recovered the connection
        assert await connection_of(uow).scalar(text("SELECT 1")) == 1


async def test_twenty_five_units_of_work_share_twenty_connections(
    engine_with: Callable[..., AsyncEngine],
) -> None:
    engine = engine_with(db_pool_min_size=5, db_pool_max_size=20, db_pool_timeout=30)
    peak = 0

    async def work(n: int) -> int:
        nonlocal peak
        async with SqlUnitOfWork(engine) as uow:
            peak = max(peak, engine.pool.checkedout())  # type: ignore[attr-defined]
            await connection_of(uow).execute(text("SELECT pg_sleep(0.2)"))
            await uow.campaigns.add(campaign(f"c{n:02}"))
            await uow.commit()
        return n

    assert sorted(await asyncio.gather(*(work(n) for n in range(25)))) == list(range(25))
    assert peak == 20
    assert len(await stored_names(engine)) == 25
    # The burst is over: connections above the minimum were closed when handed back.
    assert engine.pool.checkedin() == 5  # type: ignore[attr-defined]


async def test_an_exhausted_pool_answers_unavailable_after_the_pool_timeout(
    engine_with: Callable[..., AsyncEngine],
) -> None:
    engine = engine_with(db_pool_min_size=1, db_pool_max_size=2, db_pool_timeout=0.5)
    held = [SqlUnitOfWork(engine), SqlUnitOfWork(engine)]
    for uow in held:
        await uow.__aenter__()
    try:
        with pytest.raises(Unavailable):
            async with SqlUnitOfWork(engine):
                pass
    finally:
        for uow in held:
            await uow.__aexit__(None, None, None)
    async with SqlUnitOfWork(engine) as uow:  # free again
        assert await connection_of(uow).scalar(text("SELECT 1")) == 1


async def test_start_opens_the_minimum_number_of_connections(
    engine_with: Callable[..., AsyncEngine], fresh_postgres_url: str
) -> None:
    engine = engine_with(db_pool_min_size=3, db_pool_max_size=6)
    await warm_pool(engine)
    async with engine.connect() as conn:
        opened = await conn.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = :db AND application_name = 'market-ai'"
            ),
            {"db": fresh_postgres_url.rsplit("/", 1)[-1]},
        )
    assert opened == 3


async def test_a_connection_idle_past_its_lifetime_is_replaced(
    engine_with: Callable[..., AsyncEngine],
) -> None:
    engine = engine_with(db_pool_min_size=1, db_pool_max_size=2, db_pool_idle_lifetime=0.3)

    async def session() -> int:
        async with engine.connect() as conn:
            pid: int = await conn.scalar(text("SELECT pg_backend_pid()"))
            return pid

    first = await session()
    assert await session() == first  # handed straight back: the same session
    await asyncio.sleep(0.5)
    assert await session() != first  # idle past the lifetime: a new one
