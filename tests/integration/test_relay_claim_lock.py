"""The relay's claim holds its rows until it has stamped them, on SQLite as on Postgres.

A job that fails at once while the relay is between publishing and stamping must keep its
retry unpublished, or the stamp lands on the retry and it waits for a reconcile.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID, uuid4

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from market_ai.adapters.sql.engine import create_engine, migrate_database
from market_ai.adapters.sql.unit_of_work import SqlUnitOfWork
from market_ai.domain.jobs import Job, JobStatus
from tests.conftest import make_settings

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.integration)])
async def engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    if request.param == "sqlite":
        settings = make_settings(tmp_path)
    else:
        settings = make_settings(tmp_path, database_url=request.getfixturevalue("postgres_url"))
    made = create_engine(settings)
    await migrate_database(made)
    async with made.begin() as conn:
        await conn.execute(text("DELETE FROM jobs"))
    yield made
    await made.dispose()


async def _start_and_fail(engine: AsyncEngine, job_id: UUID) -> None:
    """A worker that got the entry at once and whose attempt failed at once."""
    async with SqlUnitOfWork(engine) as uow:
        assert await uow.jobs.start(job_id, NOW, NOW + timedelta(seconds=30)) is not None
        assert await uow.jobs.fail(job_id, 1, "boom", NOW, NOW)
        await uow.commit()


async def test_a_retry_unpublished_while_the_relay_stamps_stays_unpublished(
    engine: AsyncEngine,
) -> None:
    job = Job(
        id=uuid4(),
        owner_id="alice",
        type="noop",
        payload={},
        status=JobStatus.QUEUED,
        attempt=0,
        max_attempts=3,
        created_at=NOW,
        run_after=NOW,
    )
    async with SqlUnitOfWork(engine) as uow:
        await uow.jobs.add(job)
        await uow.commit()
    async with SqlUnitOfWork(engine) as relay:
        ids = await relay.jobs.claim_unpublished(NOW, limit=10)
        assert ids == [job.id]
        worker = asyncio.create_task(_start_and_fail(engine, job.id))  # it got the entry
        await asyncio.sleep(0.3)  # time enough for it to finish, were it not held
        await relay.jobs.mark_published(ids, NOW)
        await relay.commit()
    await worker
    async with SqlUnitOfWork(engine) as uow:
        row = await uow.jobs.get(job.id)
    assert row is not None
    assert (row.status, row.published_at) == (JobStatus.FAILED, None)
