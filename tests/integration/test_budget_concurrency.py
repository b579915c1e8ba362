"""50 concurrent generation jobs against a per-user budget that holds only some: no overshoot."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from market_ai.adapters.memory.content import InMemoryContentStore, InMemorySpendLedger
from market_ai.adapters.memory.unit_of_work import InMemoryStore, InMemoryUnitOfWork
from market_ai.adapters.sql.content import SqlContentStore
from market_ai.adapters.sql.engine import create_engine, migrate_database
from market_ai.adapters.sql.spend_ledger import SqlSpendLedger
from market_ai.adapters.sql.unit_of_work import SqlUnitOfWork
from market_ai.domain.content import ContentRequest, build_prompt
from market_ai.domain.content_ports import EntryStatus
from market_ai.domain.jobs import Job, PermanentJobError
from market_ai.domain.spend import Usage
from market_ai.domain.spend_guard import period_key
from tests.conftest import make_settings
from tests.content_rig import OWNER, RecordingGenerator, Rig, make_rig, policy

pytestmark = pytest.mark.integration
JOBS = 50
FITS = 12  # worst cases the budget can hold at once


@dataclass
class Outcome:
    accepted: int
    refused: int
    spent: int
    budget: int


async def _engine(url: str, tmp_path: Path) -> AsyncEngine:
    engine = create_engine(make_settings(tmp_path, database_url=url))
    await migrate_database(engine)
    return engine


@pytest.fixture(params=["memory", "sqlite", "postgres"])
async def backend(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[AsyncEngine | None]:
    if request.param == "memory":
        yield None
        return
    url = (
        f"sqlite:///{tmp_path / 'budget.db'}"
        if request.param == "sqlite"
        else request.getfixturevalue("fresh_postgres_url")
    )
    engine = await _engine(url, tmp_path)
    yield engine
    await engine.dispose()


def _rigs(engine: AsyncEngine | None, generator: RecordingGenerator, limit: int) -> list[Rig]:
    """Two services over the same data: one without a user budget (to enqueue), one with."""
    memory = InMemoryStore()
    adapters: dict[str, Any] = (
        {
            "uow": lambda: InMemoryUnitOfWork(memory),
            "store": InMemoryContentStore(),
            "ledger": InMemorySpendLedger(),
        }
        if engine is None
        else {
            "uow": lambda: SqlUnitOfWork(engine),
            "store": SqlContentStore(engine),
            "ledger": SqlSpendLedger(engine),
        }
    )
    return [
        make_rig(generator, spend=policy(user_limit_micros=cap), **adapters)
        for cap in (None, limit)
    ]


async def _race(engine: AsyncEngine | None) -> Outcome:
    # Each job really spends close to its worst case (465 of about 540 micro-USD).
    generator = RecordingGenerator(usage=Usage(input_tokens=300, output_tokens=700), delay=0.05)
    request = ContentRequest.of(kind="social_post")
    probe = make_rig(generator)
    campaign = await probe.campaigns.get(OWNER, await probe.campaign())
    budget = FITS * probe.guard.call_worst_case(build_prompt(campaign, request, 0))
    unlimited, rig = _rigs(engine, generator, budget)
    campaign_id = await unlimited.campaign()
    jobs = [await unlimited.service.request(OWNER, campaign_id, request) for _ in range(JOBS)]

    async def run(job: Job) -> str | None:
        try:
            await rig.run(job)
        except PermanentJobError as error:
            return str(error)
        return None

    refusals = [r for r in await asyncio.gather(*(run(job) for job in jobs)) if r is not None]
    assert all("per-user budget" in r for r in refusals)
    accepted = JOBS - len(refusals)
    figures = await rig.ledger.figures(OWNER, period_key(datetime.now(UTC), "month"))
    entries = [entry for job in jobs for entry in await rig.ledger.entries(job.id)]
    assert figures.reserved_micros == 0, "a reservation was left behind"
    assert all(e.status is EntryStatus.SETTLED for e in entries)
    assert len(entries) == accepted  # refused jobs left no entry
    assert figures.spent_micros == sum(e.actual_micros or 0 for e in entries)
    stored = [v for job in jobs for v in await rig.store.for_job(job.id)]
    assert sum(v.cost_micros for v in stored) == figures.spent_micros
    assert len(generator.calls) == accepted  # refused jobs made no call
    return Outcome(accepted, JOBS - accepted, figures.spent_micros, budget)


async def test_concurrent_jobs_never_spend_past_the_user_budget(
    backend: AsyncEngine | None,
) -> None:
    outcome = await _race(backend)

    assert outcome.spent <= outcome.budget
    assert outcome.accepted >= 1
    assert outcome.refused >= 1
    print(  # noqa: T201 - the measured figures, shown with -s
        f"accepted={outcome.accepted} refused={outcome.refused} "
        f"spent={outcome.spent} budget={outcome.budget} (micro-USD)"
    )
