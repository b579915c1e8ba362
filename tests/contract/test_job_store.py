"""The JobStore contract on memory, SQLite and Postgres: fencing, idempotency, the outbox."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest

from market_ai.adapters.memory.jobs import InMemoryJobStore
from market_ai.adapters.memory.unit_of_work import InMemoryStore
from market_ai.adapters.sql.jobs import SqlJobStore
from market_ai.domain.job_store import Finished, JobFigures, JobStore
from market_ai.domain.jobs import Job, JobStatus
from market_ai.domain.ports import UnitOfWorkFactory

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
LEASE = timedelta(seconds=30)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def new_job(owner: str = "alice", key: str | None = None, **changes: object) -> Job:
    values: dict[str, object] = {
        "id": uuid4(),
        "owner_id": owner,
        "type": "noop",
        "payload": {"n": 1, "nested": {"ok": True}, "list": [1, "two"]},
        "status": JobStatus.QUEUED,
        "attempt": 0,
        "max_attempts": 3,
        "created_at": T0,
        "run_after": T0,
        "idempotency_key": key,
    }
    values.update(changes)
    return Job(**values)  # type: ignore[arg-type]


def test_the_adapters_satisfy_the_port() -> None:
    memory: JobStore = InMemoryJobStore(InMemoryStore())
    sql: type[JobStore] = SqlJobStore
    assert memory is not None
    assert sql is not None


async def add(uow_factory: UnitOfWorkFactory, *jobs: Job) -> list[Job]:
    async with uow_factory() as uow:
        stored = [await uow.jobs.add(job) for job in jobs]
        await uow.commit()
    return stored


async def get(uow_factory: UnitOfWorkFactory, job_id: UUID) -> Job:
    async with uow_factory() as uow:
        job = await uow.jobs.get(job_id)
    assert job is not None
    return job


async def start(uow_factory: UnitOfWorkFactory, job_id: UUID, now: datetime) -> Job | None:
    async with uow_factory() as uow:
        job = await uow.jobs.start(job_id, now, now + LEASE)
        await uow.commit()
    return job


async def test_a_job_round_trips_with_its_json_and_times(uow_factory: UnitOfWorkFactory) -> None:
    job = new_job(key="order-1")
    await add(uow_factory, job)
    assert await get(uow_factory, job.id) == job
    async with uow_factory() as uow:
        assert await uow.jobs.get(uuid4()) is None


async def test_an_uncommitted_job_leaves_no_row(uow_factory: UnitOfWorkFactory) -> None:
    job = new_job()
    async with uow_factory() as uow:
        await uow.jobs.add(job)
        assert await uow.jobs.get(job.id) == job  # visible inside its own unit of work
    async with uow_factory() as uow:
        assert await uow.jobs.get(job.id) is None


async def test_an_idempotency_key_returns_the_owners_existing_job(
    uow_factory: UnitOfWorkFactory,
) -> None:
    first = new_job(key="order-1")
    await add(uow_factory, first)
    [again] = await add(uow_factory, new_job(key="order-1", payload={"other": 1}))
    assert again == first
    [other_owner] = await add(uow_factory, theirs := new_job(owner="bob", key="order-1"))
    assert other_owner == theirs
    [no_key_1, no_key_2] = await add(uow_factory, new_job(), new_job())
    assert no_key_1.id != no_key_2.id
    async with uow_factory() as uow:
        fig = await uow.jobs.figures()
    assert fig.queued == 4


async def test_start_claims_a_due_job_once_per_lease(uow_factory: UnitOfWorkFactory) -> None:
    job = new_job()
    await add(uow_factory, job)
    claimed = await start(uow_factory, job.id, at(1))
    assert claimed is not None
    assert (claimed.status, claimed.attempt) == (JobStatus.RUNNING, 1)
    assert claimed.started_at == at(1)
    assert claimed.lease_expires_at == at(1) + LEASE
    assert await start(uow_factory, job.id, at(2)) is None  # lease still live
    reclaimed = await start(uow_factory, job.id, at(1) + LEASE + timedelta(seconds=1))
    assert reclaimed is not None
    assert reclaimed.attempt == 2  # a crashed attempt counts: the next one is fenced apart


async def test_a_job_is_not_started_before_run_after(uow_factory: UnitOfWorkFactory) -> None:
    job = new_job(run_after=at(10))
    await add(uow_factory, job)
    assert await start(uow_factory, job.id, at(9)) is None
    assert await start(uow_factory, job.id, at(10)) is not None


async def test_a_stale_attempt_cannot_overwrite_a_newer_one(
    uow_factory: UnitOfWorkFactory,
) -> None:
    job = new_job()
    await add(uow_factory, job)
    assert await start(uow_factory, job.id, at(0)) is not None
    newer = await start(uow_factory, job.id, at(0) + LEASE * 2)  # the first worker stalled
    assert newer is not None
    assert newer.attempt == 2
    async with uow_factory() as uow:
        assert not await uow.jobs.renew(job.id, 1, at(100))
        assert not await uow.jobs.succeed(job.id, 1, {"from": "stale"}, at(61))
        assert not await uow.jobs.fail(job.id, 1, "stale", at(61), None)
        assert not await uow.jobs.release(job.id, 1, at(61))
        assert await uow.jobs.renew(job.id, 2, at(200))
        assert await uow.jobs.succeed(job.id, 2, {"from": "newer"}, at(62))
        assert not await uow.jobs.succeed(job.id, 2, {"again": True}, at(63))  # not running
        await uow.commit()
    done = await get(uow_factory, job.id)
    assert (done.status, done.attempt, done.result) == (JobStatus.SUCCEEDED, 2, {"from": "newer"})
    assert done.finished_at == at(62)
    assert done.lease_expires_at is None


async def test_a_failure_schedules_a_retry_or_buries_the_job(
    uow_factory: UnitOfWorkFactory,
) -> None:
    retrying, dying = new_job(), new_job()
    await add(uow_factory, retrying, dying)
    await start(uow_factory, retrying.id, at(0))
    await start(uow_factory, dying.id, at(0))
    async with uow_factory() as uow:
        await uow.jobs.mark_published([retrying.id, dying.id], at(0))
        assert await uow.jobs.fail(retrying.id, 1, "RuntimeError: boom", at(1), at(5))
        assert await uow.jobs.fail(dying.id, 1, "PermanentJobError: no", at(1), None)
        await uow.commit()
    failed = await get(uow_factory, retrying.id)
    assert (failed.status, failed.run_after, failed.last_error) == (
        JobStatus.FAILED,
        at(5),
        "RuntimeError: boom",
    )
    assert failed.published_at is None  # the relay publishes the retry once it is due
    assert await start(uow_factory, retrying.id, at(4)) is None
    assert await start(uow_factory, retrying.id, at(5)) is not None
    dead = await get(uow_factory, dying.id)
    assert (dead.status, dead.finished_at) == (JobStatus.DEAD, at(1))


async def test_dead_jobs_are_listed_newest_first_and_revived(
    uow_factory: UnitOfWorkFactory,
) -> None:
    jobs = [new_job() for _ in range(3)]
    await add(uow_factory, *jobs)
    for n, job in enumerate(jobs):
        await start(uow_factory, job.id, at(0))
        async with uow_factory() as uow:
            await uow.jobs.fail(job.id, 1, f"error {n}", at(n), None)
            await uow.commit()
    async with uow_factory() as uow:
        listed = await uow.jobs.list_dead(limit=2)
        assert [j.id for j in listed] == [jobs[2].id, jobs[1].id]
        revived = await uow.jobs.revive(jobs[0].id, at(10), extra_attempts=3)
        assert await uow.jobs.revive(jobs[0].id, at(10), extra_attempts=3) is None  # not dead
        assert await uow.jobs.revive(uuid4(), at(10), extra_attempts=3) is None
        await uow.commit()
    assert revived is not None
    assert (revived.status, revived.attempt, revived.max_attempts) == (JobStatus.QUEUED, 1, 4)
    assert (revived.run_after, revived.finished_at, revived.published_at) == (at(10), None, None)
    assert (await start(uow_factory, jobs[0].id, at(11)) or revived).attempt == 2


async def test_bury_spares_live_and_finished_jobs(uow_factory: UnitOfWorkFactory) -> None:
    waiting, live, expired, done = (new_job() for _ in range(4))
    await add(uow_factory, waiting, live, expired, done)
    await start(uow_factory, live.id, at(0))
    await start(uow_factory, expired.id, at(0))
    await start(uow_factory, done.id, at(0))
    async with uow_factory() as uow:
        await uow.jobs.succeed(done.id, 1, None, at(1))
        now = at(20)
        assert await uow.jobs.bury(waiting.id, "poison", now)
        assert not await uow.jobs.bury(live.id, "poison", now)
        assert await uow.jobs.bury(expired.id, "poison", at(31))
        assert not await uow.jobs.bury(done.id, "poison", now)
        await uow.commit()
    assert (await get(uow_factory, waiting.id)).status is JobStatus.DEAD
    assert (await get(uow_factory, waiting.id)).last_error == "poison"
    assert (await get(uow_factory, live.id)).status is JobStatus.RUNNING
    assert (await get(uow_factory, done.id)).status is JobStatus.SUCCEEDED


async def test_release_hands_a_running_job_back_unpublished(
    uow_factory: UnitOfWorkFactory,
) -> None:
    job = new_job()
    await add(uow_factory, job)
    await start(uow_factory, job.id, at(0))
    async with uow_factory() as uow:
        await uow.jobs.mark_published([job.id], at(0))
        assert await uow.jobs.release(job.id, 1, at(3))
        await uow.commit()
    back = await get(uow_factory, job.id)
    assert (back.status, back.attempt, back.run_after) == (JobStatus.QUEUED, 1, at(3))
    assert (back.lease_expires_at, back.published_at) == (None, None)
    assert back.max_attempts == job.max_attempts + 1  # a hand-back uses up no attempt
    assert (await start(uow_factory, job.id, at(3)) or back).attempt == 2  # at once


async def test_the_relay_selects_due_unpublished_jobs_oldest_first(
    uow_factory: UnitOfWorkFactory,
) -> None:
    late, early, future, done = (
        new_job(run_after=at(2)),
        new_job(run_after=at(1)),
        new_job(run_after=at(100)),
        new_job(),
    )
    await add(uow_factory, late, early, future, done)
    await start(uow_factory, done.id, at(0))
    async with uow_factory() as uow:
        await uow.jobs.succeed(done.id, 1, None, at(0))
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.jobs.claim_unpublished(at(5), limit=10) == [early.id, late.id]
        assert await uow.jobs.claim_unpublished(at(5), limit=1) == [early.id]
        await uow.jobs.mark_published([early.id, late.id], at(5))
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.jobs.claim_unpublished(at(6), limit=10) == []
        assert await uow.jobs.claim_unpublished(at(100), limit=10) == [future.id]


async def test_the_reconciler_unpublishes_what_the_queue_may_have_lost(
    uow_factory: UnitOfWorkFactory,
) -> None:
    old, recent, running_dead, running_live = (new_job() for _ in range(4))
    await add(uow_factory, old, recent, running_dead, running_live)
    await start(uow_factory, running_dead.id, at(0))  # lease to 30 s
    await start(uow_factory, running_live.id, at(50))  # lease to 80 s
    async with uow_factory() as uow:
        await uow.jobs.mark_published([old.id, running_dead.id, running_live.id], at(0))
        await uow.jobs.mark_published([recent.id], at(50))
        await uow.commit()
    async with uow_factory() as uow:
        count = await uow.jobs.unpublish_stale(published_before=at(10), lease_before=at(40))
        assert count == 2
        await uow.commit()
    async with uow_factory() as uow:
        assert set(await uow.jobs.claim_unpublished(at(60), limit=10)) == {
            old.id,
            running_dead.id,
        }


async def test_a_running_job_on_a_lapsed_lease_is_stale_however_recent_its_publication(
    uow_factory: UnitOfWorkFactory,
) -> None:
    """Its worker died: the lease says when to send it again, not the publication's age."""
    orphan, live = new_job(), new_job()
    await add(uow_factory, orphan, live)
    async with uow_factory() as uow:
        await uow.jobs.mark_published([orphan.id, live.id], at(50))
        await uow.commit()
    await start(uow_factory, orphan.id, at(0))  # lease to 30 s
    await start(uow_factory, live.id, at(50))  # lease to 80 s
    async with uow_factory() as uow:
        stale = await uow.jobs.stale_published(
            published_before=at(10), lease_before=at(40), limit=9
        )
        assert stale == [orphan.id]
        assert await uow.jobs.unpublish_stale(published_before=at(10), lease_before=at(40)) == 1
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.jobs.claim_unpublished(at(60), limit=10) == [orphan.id]


async def test_stale_publications_are_checked_in_batches_and_a_fresh_retry_is_spared(
    uow_factory: UnitOfWorkFactory,
) -> None:
    first, second, third = (new_job() for _ in range(3))
    await add(uow_factory, first, second, third)
    async with uow_factory() as uow:
        for seconds, job in enumerate((first, second, third)):
            await uow.jobs.mark_published([job.id], at(seconds))
        await uow.commit()
    async with uow_factory() as uow:
        stale = await uow.jobs.stale_published(published_before=at(10), lease_before=at(0), limit=2)
        assert stale == [first.id, second.id]  # oldest publication first, bounded
    started = await start(uow_factory, first.id, at(3))
    assert started is not None
    async with uow_factory() as uow:  # it fails meanwhile: its retry is unpublished
        assert await uow.jobs.fail(first.id, 1, "boom", at(4), retry_at=at(5))
        await uow.commit()
    async with uow_factory() as uow:
        await uow.jobs.confirm_published([first.id, second.id], published_before=at(10), now=at(20))
        assert await uow.jobs.unpublish([third.id], published_before=at(10)) == 1
        await uow.commit()
    async with uow_factory() as uow:
        assert set(await uow.jobs.claim_unpublished(at(30), limit=10)) == {first.id, third.id}
        assert (
            await uow.jobs.stale_published(published_before=at(10), lease_before=at(0), limit=10)
            == []
        )  # second was confirmed at 20


async def test_figures_count_what_operators_watch(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        assert await uow.jobs.figures() == JobFigures(0, 0, 0, 0, None)
    queued = [new_job(run_after=at(n)) for n in (3, 1)]
    running, failed, dead, done = (new_job() for _ in range(4))
    await add(uow_factory, *queued, running, failed, dead, done)
    for job in (running, failed, dead, done):
        await start(uow_factory, job.id, at(0))
    async with uow_factory() as uow:
        await uow.jobs.fail(failed.id, 1, "x", at(1), at(9))
        await uow.jobs.fail(dead.id, 1, "x", at(1), None)
        await uow.jobs.succeed(done.id, 1, None, at(1))
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.jobs.figures() == JobFigures(
            queued=2, retrying=1, running=1, dead=1, oldest_queued_at=at(1)
        )


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
async def test_concurrent_relays_publish_disjoint_sets(uow_factory: UnitOfWorkFactory) -> None:
    jobs = [new_job(run_after=at(n)) for n in range(10)]
    await add(uow_factory, *jobs)
    async with uow_factory() as first, uow_factory() as second:
        mine = await first.jobs.claim_unpublished(at(20), limit=6)
        theirs = await second.jobs.claim_unpublished(at(20), limit=10)  # skips locked rows
        assert len(mine) == 6
        assert len(theirs) == 4
        assert set(mine).isdisjoint(theirs)
        await first.jobs.mark_published(mine, at(20))
        await second.jobs.mark_published(theirs, at(20))
        await first.commit()
        await second.commit()
    async with uow_factory() as uow:
        assert await uow.jobs.claim_unpublished(at(30), limit=10) == []


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
async def test_a_late_committing_row_is_published_on_a_later_pass(
    uow_factory: UnitOfWorkFactory,
) -> None:
    early, late = new_job(), new_job()
    async with uow_factory() as slow:
        await slow.jobs.add(late)  # begun first, committed last
        await add(uow_factory, early)
        async with uow_factory() as relay:
            assert await relay.jobs.claim_unpublished(at(1), limit=10) == [early.id]
            await relay.jobs.mark_published([early.id], at(1))
            await relay.commit()
        await slow.commit()
    async with uow_factory() as relay:
        assert await relay.jobs.claim_unpublished(at(2), limit=10) == [late.id]


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
async def test_concurrent_claims_of_one_job_start_it_once(
    uow_factory: UnitOfWorkFactory,
) -> None:
    job = new_job()
    await add(uow_factory, job)
    async with uow_factory() as first, uow_factory() as second:
        won = await first.jobs.start(job.id, at(1), at(31))
        rival = asyncio.create_task(second.jobs.start(job.id, at(1), at(31)))
        await asyncio.sleep(0.2)
        assert not rival.done()  # waits on the row lock
        await first.commit()
        assert await rival is None  # re-checked after the commit: no longer claimable
        await second.commit()
    assert won is not None
    assert won.attempt == 1


async def test_add_many_inserts_keyless_jobs_and_honours_keys(
    uow_factory: UnitOfWorkFactory,
) -> None:
    keyed = new_job(key="order-1")
    await add(uow_factory, keyed)
    batch = [new_job(), new_job(key="order-1"), new_job(payload={"i": 2})]
    async with uow_factory() as uow:
        stored = await uow.jobs.add_many(batch)
        await uow.commit()
    assert [job.id for job in stored] == [batch[0].id, keyed.id, batch[2].id]
    assert await get(uow_factory, batch[2].id) == batch[2]
    async with uow_factory() as uow:
        assert (await uow.jobs.figures()).queued == 3


async def test_start_many_claims_exactly_the_claimable_ones(
    uow_factory: UnitOfWorkFactory,
) -> None:
    due, later, running = new_job(), new_job(run_after=at(10)), new_job()
    await add(uow_factory, due, later, running)
    assert await start(uow_factory, running.id, at(0)) is not None
    async with uow_factory() as uow:
        started = await uow.jobs.start_many(
            [due.id, later.id, running.id, uuid4(), due.id], at(1), at(1) + LEASE
        )
        await uow.commit()
    assert [(job.id, job.status, job.attempt) for job in started] == [
        (due.id, JobStatus.RUNNING, 1)
    ]
    assert started[0].lease_expires_at == at(1) + LEASE
    assert started[0].started_at == at(1)
    assert (await get(uow_factory, later.id)).status is JobStatus.QUEUED
    assert (await get(uow_factory, running.id)).attempt == 1  # its live lease was left alone
    async with uow_factory() as uow:
        assert await uow.jobs.start_many([], at(1), at(2)) == []


async def test_succeed_many_is_fenced_per_attempt(uow_factory: UnitOfWorkFactory) -> None:
    a, b, c, stale = new_job(), new_job(), new_job(), new_job()
    await add(uow_factory, a, b, c, stale)
    for job in (a, b, c, stale):
        assert await start(uow_factory, job.id, at(0)) is not None
    assert await start(uow_factory, stale.id, at(0) + LEASE * 2) is not None  # attempt 2 now
    finished = [
        Finished(a.id, 1, None),
        Finished(b.id, 1, {"words": 3}),
        Finished(c.id, 1, None),
        Finished(stale.id, 1, {"from": "stale"}),
        Finished(uuid4(), 1, None),
    ]
    async with uow_factory() as uow:
        moved = await uow.jobs.succeed_many(finished, at(5))
        await uow.commit()
    assert moved == {a.id, b.id, c.id}
    done_b = await get(uow_factory, b.id)
    assert (done_b.status, done_b.result, done_b.finished_at) == (
        JobStatus.SUCCEEDED,
        {"words": 3},
        at(5),
    )
    assert done_b.lease_expires_at is None
    assert (await get(uow_factory, a.id)).result is None
    still = await get(uow_factory, stale.id)
    assert (still.status, still.attempt, still.result) == (JobStatus.RUNNING, 2, None)
    async with uow_factory() as uow:
        assert await uow.jobs.succeed_many([Finished(a.id, 1, None)], at(6)) == set()


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
async def test_start_many_skips_a_row_another_claim_holds_instead_of_waiting(
    uow_factory: UnitOfWorkFactory,
) -> None:
    held, free = new_job(), new_job()
    await add(uow_factory, held, free)
    async with uow_factory() as first, uow_factory() as second:
        assert await first.jobs.start(held.id, at(1), at(31)) is not None  # row locked
        started = await asyncio.wait_for(
            second.jobs.start_many([held.id, free.id], at(1), at(31)), timeout=5
        )
        assert [job.id for job in started] == [free.id]
        await second.commit()
        await first.commit()
    assert (await get(uow_factory, held.id)).attempt == 1
