"""Health figures on Postgres read only the unfinished jobs, however much history there is."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine

from market_ai.adapters.sql.engine import create_engine, migrate_database
from market_ai.adapters.sql.unit_of_work import SqlUnitOfWork
from tests.conftest import make_settings

pytestmark = pytest.mark.integration
FINISHED = 50_000
WAITING = 7
PAGES_MAX = 20  # a few index pages; the whole table is hundreds


@pytest.fixture
async def engine(fresh_postgres_url: str, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    made = create_engine(make_settings(tmp_path, database_url=fresh_postgres_url))
    await migrate_database(made)
    yield made
    await made.dispose()


def _rows(status: str, count: int) -> str:
    return f"""
        INSERT INTO jobs (id, owner_id, type, payload, status, attempt, max_attempts,
                          created_at, run_after, finished_at)
        SELECT gen_random_uuid(), 'alice', 'noop', '{{}}', '{status}', 1, 5, now(), now(),
               CASE WHEN '{status}' = 'succeeded' THEN now() END
        FROM generate_series(1, {count})
    """  # noqa: S608 - constants of this test


def _pages(plan: Any) -> int:
    node = plan.get("Plan", plan)
    return int(node.get("Shared Hit Blocks", 0)) + int(node.get("Shared Read Blocks", 0))


async def test_figures_are_index_only_and_do_not_read_finished_history(
    engine: AsyncEngine,
) -> None:
    async with engine.begin() as conn:
        await conn.execute(text(_rows("succeeded", FINISHED)))
        await conn.execute(text(_rows("queued", WAITING)))
    async with engine.connect() as conn:
        autocommit = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await autocommit.execute(text("VACUUM ANALYZE jobs"))

    statements: list[tuple[str, Any]] = []

    def record(*args: Any) -> None:
        statements.append((args[2], args[3]))

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        async with SqlUnitOfWork(engine) as uow:
            figures = await uow.jobs.figures()
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)
    assert figures.queued == WAITING
    [(query, parameters)] = [(s, p) for s, p in statements if "count(" in s.lower()]

    async with engine.connect() as conn:
        explain = f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {query}"
        explained = await conn.exec_driver_sql(explain, parameters)
        [plan] = json.loads(json.dumps(explained.scalar_one()))
    rendered = json.dumps(plan)
    assert "ix_jobs_unfinished_status_run_after" in rendered
    assert "Seq Scan" not in rendered
    assert _pages(plan) <= PAGES_MAX
