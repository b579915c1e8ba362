"""Retention on memory, SQLite and Postgres: old finished history goes, nothing else moves."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

from market_ai.adapters.memory.content import InMemorySpendLedger
from market_ai.adapters.sql.spend_ledger import SqlSpendLedger
from market_ai.domain.clock import FixedClock
from market_ai.domain.content_ports import EntryStatus, LedgerEntry, SpendLedger
from market_ai.domain.job_retention import Retention
from market_ai.domain.jobs import Job, JobStatus
from tests.contract.conftest import Backend

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
KEEP = timedelta(days=30)
OLD = NOW - timedelta(days=40)
RECENT = NOW - timedelta(days=1)


def job(status: JobStatus, finished_at: datetime | None) -> Job:
    return Job(
        id=uuid4(),
        owner_id="alice",
        type="noop",
        payload={},
        status=status,
        attempt=1,
        max_attempts=3,
        created_at=OLD,
        run_after=OLD,
        finished_at=finished_at,
    )


def entry(made: datetime) -> LedgerEntry:
    return LedgerEntry(
        id=uuid4(),
        owner_id="alice",
        period="2026-06",
        job_id=uuid4(),
        attempt=1,
        model="gpt-4o-mini",
        status=EntryStatus.RESERVED,
        reserved_micros=1_000,
        actual_micros=None,
        created_at=made,
        expires_at=made + timedelta(minutes=10),
    )


async def test_old_successes_and_closed_entries_go_in_batches_and_budgets_stay_exact(
    backend: Backend,
) -> None:
    ledger: SpendLedger = (
        InMemorySpendLedger() if backend.engine is None else SqlSpendLedger(backend.engine)
    )
    old_done = [job(JobStatus.SUCCEEDED, OLD) for _ in range(5)]
    kept = [
        job(JobStatus.SUCCEEDED, RECENT),
        job(JobStatus.DEAD, OLD),  # dead stays until retried or purged
        job(JobStatus.QUEUED, None),
        job(JobStatus.FAILED, None),
    ]
    async with backend.uow() as uow:
        await uow.jobs.add_many([*old_done, *kept])
        await uow.commit()
    settled, released, recent, held = entry(OLD), entry(OLD), entry(RECENT), entry(OLD)
    for made in (settled, released, recent, held):
        assert await ledger.reserve(made, None)
    await ledger.settle(settled.id, 700, OLD)
    await ledger.release(released.id, OLD)
    await ledger.settle(recent.id, 300, RECENT)
    budget = await ledger.figures("alice", "2026-06")

    retention = Retention(
        unit_of_work=backend.uow, ledger=ledger, clock=FixedClock(NOW), keep=KEEP, batch=2
    )
    pruned = await retention.prune_once()

    assert (pruned.jobs, pruned.ledger_entries) == (5, 2)  # three batches of jobs: 2, 2, 1
    async with backend.uow() as uow:
        assert [await uow.jobs.get(j.id) for j in old_done] == [None] * 5
        assert None not in [await uow.jobs.get(j.id) for j in kept]
    assert await ledger.figures("alice", "2026-06") == budget
    assert [e.id for e in await ledger.entries(recent.job_id or uuid4())] == [recent.id]
    assert [e.id for e in await ledger.entries(held.job_id or uuid4())] == [held.id]
    assert await ledger.entries(settled.job_id or uuid4()) == []
    assert (await retention.prune_once()).jobs == 0
