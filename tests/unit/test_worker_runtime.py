"""Workers running their loops in real (short) time: leases, reclaim, concurrency, SIGTERM drain."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from uuid import UUID

from market_ai.adapters.memory.content import InMemorySpendLedger
from market_ai.domain.job_retention import Retention
from market_ai.domain.jobs import JobStatus
from tests.job_fakes import RecordingHandler
from tests.job_rig import Rig, Running, eventually

LEASE = 0.6


async def test_sigterm_finishes_in_flight_jobs_and_hands_back_the_rest() -> None:
    rig = Rig(fake=False)
    rig.registry.register("quick", quick := RecordingHandler(seconds=0.2))
    rig.registry.register("long", long := RecordingHandler(stall_attempts={1}))
    short_job = await rig.service.submit("alice", "quick")
    long_job = await rig.service.submit("alice", "long")
    first = Running(rig.worker("w1", lease=LEASE, grace=0.5))
    async with first:
        await eventually(lambda: _true(len(quick.started) == 1 and len(long.started) == 1))
        loop = asyncio.get_running_loop()
        signalled = loop.time()
        await first.halt()
        drained_in = loop.time() - signalled
    assert 0.5 <= drained_in < 0.5 + 1.0  # the grace period, then the hand-back
    assert (await rig.job(short_job.id)).status is JobStatus.SUCCEEDED  # finished within grace
    handed_back = await rig.job(long_job.id)
    assert (handed_back.status, handed_back.attempt) == (JobStatus.QUEUED, 1)
    assert (handed_back.lease_expires_at, handed_back.published_at) == (None, None)

    async with Running(rig.worker("w2", lease=LEASE)):
        await eventually(lambda: _status(rig, long_job.id, JobStatus.SUCCEEDED))
        # w1's entry was left pending: w2 reclaims it after a lease and drops the duplicate.
        await eventually(rig.queue_is_empty, timeout=3 * LEASE)
    assert long.started == [(long_job.id, 1), (long_job.id, 2)]
    assert long.finished == [(long_job.id, 2)]  # completed exactly once
    assert quick.finished == [(short_job.id, 1)]
    counters = await rig.queue.counters()
    assert counters["reclaimed"] == 1
    assert counters["duplicate_suppressed"] == 1


async def test_a_killed_workers_job_is_reclaimed_within_two_leases() -> None:
    rig = Rig(fake=False)
    rig.registry.register("work", handler := RecordingHandler())
    job = await rig.service.submit("alice", "work")
    await rig.relay().relay_all()
    [delivery] = await rig.queue.receive("killed", count=1, block_ms=0)
    async with rig.uow() as uow:  # it started the job, then got SIGKILL: no renewals, no ack
        now = rig.clock.now()
        await uow.jobs.start(job.id, now, now + timedelta(seconds=LEASE))
        await uow.commit()
    async with Running(rig.worker("survivor", lease=LEASE)):
        took = await eventually(lambda: _status(rig, job.id, JobStatus.SUCCEEDED))
    assert took <= 2 * LEASE
    assert handler.started == [(delivery.job_id, 2)]
    assert (await rig.queue.counters())["reclaimed"] == 1


async def test_a_job_longer_than_its_lease_renews_it_and_runs_once() -> None:
    rig = Rig(fake=False)
    rig.registry.register("work", handler := RecordingHandler(seconds=4 * 0.3))
    job = await rig.service.submit("alice", "work")
    async with Running(rig.worker("w1", lease=0.3)), Running(rig.worker("w2", lease=0.3)):
        await eventually(lambda: _status(rig, job.id, JobStatus.SUCCEEDED))
    assert handler.started == [(job.id, 1)]
    assert "reclaimed" not in await rig.queue.counters()


async def test_concurrency_caps_the_jobs_run_at_once() -> None:
    rig = Rig(fake=False)
    rig.registry.register("work", handler := RecordingHandler(stall_attempts={1}))
    jobs = [await rig.service.submit("alice", "work") for _ in range(5)]
    async with Running(rig.worker("w1", lease=LEASE, grace=2.0, concurrency=2)):
        await eventually(lambda: _true(len(handler.started) == 2))
        await asyncio.sleep(0.2)
        assert len(handler.started) == 2
        handler.release.set()
        for job in jobs:
            await eventually(lambda job=job: _status(rig, job.id, JobStatus.SUCCEEDED))  # type: ignore[misc]
    assert sorted(handler.finished_ids()) == sorted(j.id for j in jobs)


async def test_a_restarted_embedded_worker_republishes_what_its_queue_lost() -> None:
    rig = Rig(fake=False)
    rig.registry.register("work", handler := RecordingHandler())
    job = await rig.service.submit("alice", "work")
    await rig.relay().relay_all()  # published to the queue of a process that then died
    rig.lose_queue()
    worker = rig.worker("restarted", lease=LEASE)
    worker._volatile_queue = True  # what the container sets without REDIS_URL
    async with Running(worker):
        await eventually(lambda: _status(rig, job.id, JobStatus.SUCCEEDED), timeout=LEASE)
    assert handler.started == [(job.id, 1)]


async def test_an_idle_worker_stops_without_waiting_out_its_blocking_receive() -> None:
    rig = Rig(fake=False)
    worker = Running(rig.worker("idle", lease=30.0))  # receives block for up to a second
    async with worker:
        await asyncio.sleep(0.2)
        loop = asyncio.get_running_loop()
        asked = loop.time()
        await worker.halt()
        assert loop.time() - asked < 0.5


async def _true(value: bool) -> bool:
    return value


async def _status(rig: Rig, job_id: object, status: JobStatus) -> bool:
    return (await rig.job(job_id)).status is status  # type: ignore[arg-type]


async def test_redeliveries_that_never_started_keep_full_concurrency_beside_a_suspect() -> None:
    rig = Rig(fake=False)
    rig.registry.register("crashy", crashy := RecordingHandler(stall_attempts={2}))
    rig.registry.register("fresh", fresh := RecordingHandler())
    orphans = [await rig.service.submit("alice", "crashy") for _ in range(4)]
    never_started = [await rig.service.submit("alice", "fresh") for _ in range(4)]
    await rig.relay().relay_all()
    assert len(await rig.queue.receive("dead", count=8, block_ms=0)) == 8
    async with rig.uow() as uow:  # the dead worker had started the orphans, not the others
        now = rig.clock.now()
        for orphan in orphans:
            await uow.jobs.start(orphan.id, now, now + timedelta(seconds=LEASE))
        await uow.commit()
    async with Running(rig.worker("survivor", lease=LEASE, concurrency=8)) as running:
        # All eight come back as redeliveries; the four that never started run at once
        # while the first orphan, a suspect, stalls in the suspects' own lane.
        await eventually(lambda: _true(len(fresh.finished) == 4))
        assert len(crashy.started) == 1  # suspects run one at a time
        crashy.release.set()
        ids = [job.id for job in [*orphans, *never_started]]
        await eventually(lambda: _all_succeeded(rig, ids))
        await running.halt()
    assert sorted(attempt for _, attempt in fresh.started) == [1, 1, 1, 1]


async def _all_succeeded(rig: Rig, ids: list[UUID]) -> bool:
    statuses = [(await rig.job(job_id)).status for job_id in ids]
    return all(status is JobStatus.SUCCEEDED for status in statuses)


async def test_the_worker_prunes_finished_history_past_the_retention() -> None:
    rig = Rig(fake=False)
    rig.registry.register("work", RecordingHandler())
    job = await rig.service.submit("alice", "work")
    worker = rig.worker("w1", lease=LEASE)
    async with Running(worker):
        await eventually(lambda: _status(rig, job.id, JobStatus.SUCCEEDED))
    retention = Retention(
        unit_of_work=rig.uow, ledger=InMemorySpendLedger(), clock=rig.clock, keep=timedelta(0)
    )
    pruning = rig.worker("w2", lease=LEASE)
    pruning._retention = retention
    async with Running(pruning):
        await eventually(lambda: _gone(rig, job.id))


async def _gone(rig: Rig, job_id: UUID) -> bool:
    async with rig.uow() as uow:
        return await uow.jobs.get(job_id) is None
