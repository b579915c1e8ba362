"""One fixture, three backends: every contract test runs on memory, SQLite and Postgres."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from market_ai.adapters.memory.unit_of_work import InMemoryStore, InMemoryUnitOfWork
from market_ai.adapters.sql.engine import create_engine, migrate_database, prepare_database
from market_ai.adapters.sql.tables import metadata
from market_ai.adapters.sql.unit_of_work import SqlUnitOfWork
from market_ai.domain.ports import UnitOfWorkFactory
from tests.conftest import make_settings


async def _empty_tables(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            await conn.execute(text(f"DELETE FROM {table.name}"))  # noqa: S608 - our own names


@dataclass(frozen=True)
class Backend:
    """A fresh, empty store: its units of work, and the engine behind them (None in memory).

    Adapters outside the unit of work (the content store, the spend ledger) take the engine.
    """

    uow: UnitOfWorkFactory
    engine: AsyncEngine | None


@pytest.fixture(params=["memory", "sqlite", "postgres"])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    """The parametrized backend, migrated and emptied."""
    if request.param == "memory":
        store = InMemoryStore()
        yield Backend(lambda: InMemoryUnitOfWork(store), None)
        return
    if request.param == "sqlite":
        settings = make_settings(tmp_path)
    else:
        url = request.getfixturevalue("postgres_url")
        settings = make_settings(tmp_path, database_url=url)
    engine = create_engine(settings)
    try:
        await migrate_database(engine)  # as a deploy does; a no-op once at head
        await prepare_database(engine)
        if request.param == "postgres":
            await _empty_tables(engine)
        yield Backend(lambda: SqlUnitOfWork(engine), engine)
    finally:
        await engine.dispose()


@pytest.fixture
def uow_factory(backend: Backend) -> UnitOfWorkFactory:
    """A unit-of-work factory on a fresh, empty store of the parametrized backend."""
    return backend.uow
