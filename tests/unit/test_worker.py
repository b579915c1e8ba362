"""One delivery at a time, on memory adapters and a frozen clock: every outcome a job can have."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from market_ai.adapters.memory.jobs import InMemoryJobStore
from market_ai.adapters.memory.unit_of_work import InMemoryUnitOfWork
from market_ai.domain.campaigns import Campaign, Channel
from market_ai.domain.errors import Conflict, Unavailable
from market_ai.domain.job_execution import Outcome
from market_ai.domain.job_queue import Delivery
from market_ai.domain.jobs import JobStatus
from tests.fakes import FailingUnitOfWork
from tests.job_fakes import RecordingHandler
from tests.job_rig import T0, Rig, eventually


@pytest.fixture
def rig() -> Rig:
    return Rig()


async def publish_and_receive(rig: Rig, consumer: str = "w1") -> list[Delivery]:
    await rig.relay().relay_all()
    return list(await rig.queue.receive(consumer, count=10, block_ms=0))


async def test_a_job_runs_once_and_its_entry_is_deleted(rig: Rig) -> None:
    rig.registry.register("work", handler := RecordingHandler())
    job = await rig.service.submit("alice", "work", {"n": 1})
    [delivery] = await publish_and_receive(rig)
    assert delivery.job_id == job.id
    assert await rig.executor().handle(delivery) is Outcome.SUCCEEDED
    done = await rig.job(job.id)
    assert (done.status, done.attempt) == (JobStatus.SUCCEEDED, 1)
    assert done.result == {"attempt": 1, "payload": {"n": 1}}
    assert (done.started_at, done.finished_at) == (T0, T0)
    assert handler.started == [(job.id, 1)]
    assert await rig.queue.stream_length() == 0  # acked entries are deleted
    assert await rig.queue.counters() == {"succeeded": 1}


async def test_a_failure_retries_after_backoff_then_succeeds(rig: Rig) -> None:
    rig.registry.register("work", handler := RecordingHandler(fail_attempts={1}))
    job = await rig.service.submit("alice", "work")
    [first] = await publish_and_receive(rig)
    assert await rig.executor().handle(first) is Outcome.RETRYING
    failed = await rig.job(job.id)
    assert failed.status is JobStatus.FAILED
    assert failed.last_error == "RuntimeError: attempt 1 failed on purpose"
    assert failed.run_after == T0 + timedelta(seconds=1)  # base 2 s, full jitter drew 0.5
    assert await rig.relay().relay_all() == 0  # not due yet
    rig.advance(1)
    [second] = await publish_and_receive(rig)
    assert await rig.executor().handle(second) is Outcome.SUCCEEDED
    done = await rig.job(job.id)
    assert (done.status, done.attempt, done.last_error) == (JobStatus.SUCCEEDED, 2, None)
    assert handler.finished == [(job.id, 2)]


async def test_max_attempts_make_a_job_dead_and_an_operator_can_retry_it() -> None:
    rig = Rig(max_attempts=2)
    rig.registry.register("work", RecordingHandler(fail_attempts={1, 2}))
    job = await rig.service.submit("alice", "work")
    outcomes = []
    for _ in range(2):
        [delivery] = await publish_and_receive(rig)
        outcomes.append(await rig.executor().handle(delivery))
        rig.advance(60)
    assert outcomes == [Outcome.RETRYING, Outcome.DEAD]
    dead = await rig.job(job.id)
    assert (dead.status, dead.attempt, dead.finished_at) == (
        JobStatus.DEAD,
        2,
        T0 + timedelta(seconds=60),
    )
    assert [j.id for j in await rig.service.list_dead()] == [job.id]
    assert (await rig.queue.counters())["dead"] == 1

    revived = await rig.service.retry_dead(job.id)
    assert (revived.status, revived.max_attempts) == (JobStatus.QUEUED, 4)
    [delivery] = await publish_and_receive(rig)
    assert await rig.executor().handle(delivery) is Outcome.SUCCEEDED
    assert (await rig.job(job.id)).attempt == 3
    with pytest.raises(Conflict, match="succeeded, not dead"):
        await rig.service.retry_dead(job.id)


async def test_a_permanent_error_is_dead_at_once(rig: Rig) -> None:
    rig.registry.register("work", RecordingHandler(permanent=True))
    job = await rig.service.submit("alice", "work")
    [delivery] = await publish_and_receive(rig)
    assert await rig.executor().handle(delivery) is Outcome.DEAD
    dead = await rig.job(job.id)
    assert (dead.status, dead.attempt) == (JobStatus.DEAD, 1)
    assert dead.last_error == "PermanentJobError: this payload can never work"


async def test_a_type_this_worker_does_not_know_is_dead(rig: Rig) -> None:
    rig.registry.register("work", RecordingHandler())
    job = await rig.service.submit("alice", "work")
    [delivery] = await publish_and_receive(rig)
    older = rig.executor()
    older._registry = type(rig.registry)()  # a worker of a release without that handler
    assert await older.handle(delivery) is Outcome.DEAD
    assert (await rig.job(job.id)).last_error == "UnknownJobType: type: unknown job type 'work'"


async def test_a_stale_attempt_cannot_overwrite_the_newer_one(rig: Rig) -> None:
    rig.registry.register("work", handler := RecordingHandler(stall_attempts={1}))
    job = await rig.service.submit("alice", "work")
    [delivery] = await publish_and_receive(rig)
    stale = asyncio.create_task(rig.executor("w1").handle(delivery))
    await handler.running.wait()
    rig.advance(31)  # w1 stalls (a long GC pause, a frozen VM): no renewal for a whole lease
    [taken] = await rig.queue.reclaim("w2", min_idle_ms=30_000, count=1)
    assert taken.deliveries == 2
    assert await rig.executor("w2").handle(taken) is Outcome.SUCCEEDED
    handler.release.set()  # w1 wakes up and finishes attempt 1
    assert await stale is Outcome.FENCED_OUT
    done = await rig.job(job.id)
    assert (done.status, done.attempt, done.result) == (
        JobStatus.SUCCEEDED,
        2,
        {"attempt": 2, "payload": {}},
    )
    assert handler.finished == [(job.id, 2), (job.id, 1)]


async def test_a_job_that_keeps_crashing_its_workers_goes_dead(rig: Rig) -> None:
    rig.registry.register("work", handler := RecordingHandler())
    job = await rig.service.submit("alice", "work")
    [delivery] = await publish_and_receive(rig, "w1")
    for consumer in ("w2", "w3"):
        async with rig.uow() as uow:  # the worker holding it claims it, then dies mid-job
            assert await uow.jobs.start(
                job.id, rig.clock.now(), rig.clock.now() + timedelta(seconds=30)
            )
            await uow.commit()
        rig.advance(31)
        [delivery] = await rig.queue.reclaim(consumer, min_idle_ms=30_000, count=1)
    assert delivery.deliveries == 3
    assert await rig.executor("w3", max_deliveries=2).handle(delivery) is Outcome.DEAD
    dead = await rig.job(job.id)
    assert dead.status is JobStatus.DEAD
    assert dead.last_error == "delivered 3 times without finishing: it crashes its workers"
    assert handler.started == []
    assert await rig.queue.stream_length() == 0
    assert await rig.queue.counters() == {"dead": 1}


async def test_a_duplicate_delivery_is_suppressed_and_counted(rig: Rig) -> None:
    rig.registry.register("work", handler := RecordingHandler(stall_attempts={1}))
    job = await rig.service.submit("alice", "work")
    await rig.relay().relay_all()
    await rig.queue.publish([job.id])  # a relay that died between publishing and stamping
    first, second = await rig.queue.receive("w1", count=2, block_ms=0)
    running = asyncio.create_task(rig.executor("w1").handle(first))
    await handler.running.wait()
    assert await rig.executor("w2").handle(second) is Outcome.DUPLICATE  # live lease elsewhere
    handler.release.set()
    assert await running is Outcome.SUCCEEDED
    await rig.queue.publish([job.id])
    [late] = await rig.queue.receive("w1", count=1, block_ms=0)
    assert await rig.executor("w2").handle(late) is Outcome.DUPLICATE  # already succeeded
    assert handler.started == [(job.id, 1)]
    assert await rig.queue.stream_length() == 0
    assert await rig.queue.counters() == {"succeeded": 1, "duplicate_suppressed": 2}


async def test_another_entry_of_a_job_running_here_is_dropped(rig: Rig) -> None:
    rig.registry.register("work", handler := RecordingHandler(stall_attempts={1}))
    job = await rig.service.submit("alice", "work")
    await rig.relay().relay_all()
    await rig.queue.publish([job.id])  # e.g. a drained worker's entry, reclaimed by this one
    first, second = await rig.queue.receive("w1", count=2, block_ms=0)
    executor = rig.executor("w1")
    running = asyncio.create_task(executor.handle(first))
    await handler.running.wait()
    assert await executor.handle(first) is Outcome.SKIPPED  # the entry it runs under
    assert await executor.handle(second) is Outcome.DUPLICATE
    handler.release.set()
    assert await running is Outcome.SUCCEEDED
    assert handler.started == [(job.id, 1)]
    assert await rig.queue.stream_length() == 0


async def test_an_idempotency_key_returns_the_existing_job(rig: Rig) -> None:
    rig.registry.register("work", RecordingHandler())
    rig.registry.register("other", RecordingHandler())
    first = await rig.service.submit("alice", "work", {"n": 1}, idempotency_key="order-7")
    again = await rig.service.submit("alice", "work", {"n": 2}, idempotency_key="order-7")
    assert again == first
    theirs = await rig.service.submit("bob", "work", idempotency_key="order-7")
    assert theirs.id != first.id
    with pytest.raises(Conflict, match=r"already used by job .* \(work\)"):
        await rig.service.submit("alice", "other", idempotency_key="order-7")
    assert (await rig.service.figures()).queued == 2


async def test_enqueue_commits_or_rolls_back_with_the_use_case_write(rig: Rig) -> None:
    rig.registry.register("analyze", RecordingHandler())
    campaign = Campaign(
        owner_id="alice", name="Launch", channel=Channel.EMAIL, created_at=T0, updated_at=T0
    )

    async def launch(*, fail: bool) -> None:
        async with rig.uow() as uow:
            await uow.campaigns.add(campaign)
            await rig.service.enqueue(uow, "alice", "analyze", {"campaign": str(campaign.id)})
            if fail:
                raise RuntimeError("the use case failed after enqueueing")
            await uow.commit()

    with pytest.raises(RuntimeError):
        await launch(fail=True)
    assert rig.store.jobs == {}
    assert rig.store.campaigns == {}
    assert await rig.relay().relay_all() == 0  # no job without its row, no row without commit

    async with FailingUnitOfWork(rig.uow()) as uow:
        await rig.service.enqueue(uow, "alice", "analyze")
        with pytest.raises(Unavailable):
            await uow.commit()
    assert rig.store.jobs == {}

    await launch(fail=False)
    [job] = rig.store.jobs.values()
    assert job.payload == {"campaign": str(campaign.id)}
    assert campaign.id in rig.store.campaigns
    assert await rig.relay().relay_all() == 1


async def test_jobs_the_queue_lost_are_published_again_by_the_reconciler(rig: Rig) -> None:
    rig.registry.register("work", handler := RecordingHandler())
    job = await rig.service.submit("alice", "work")
    assert await rig.relay().relay_all() == 1
    rig.lose_queue()  # Redis restarted without AOF
    relay = rig.relay(republish_after=60)
    rig.advance(30)
    assert await relay.reconcile_once() == 0  # published recently: maybe still in the queue
    rig.advance(31)
    assert await relay.reconcile_once() == 1
    assert await relay.relay_all() == 1
    [delivery] = await rig.queue.receive("w1", count=1, block_ms=0)
    assert await rig.executor().handle(delivery) is Outcome.SUCCEEDED
    assert handler.started == [(job.id, 1)]
    assert (await rig.queue.counters())["republished"] == 1


async def test_an_unknown_owner_or_job_reads_as_absent(rig: Rig) -> None:
    rig.registry.register("work", RecordingHandler())
    job = await rig.service.submit("alice", "work")
    assert (await rig.service.get("alice", job.id)).id == job.id
    for owner, job_id in (("bob", job.id), ("alice", uuid4())):
        with pytest.raises(Exception, match="job not found"):
            await rig.service.get(owner, job_id)


async def test_two_entries_of_one_job_claimed_in_one_batch_run_it_once(rig: Rig) -> None:
    rig.registry.register("work", handler := RecordingHandler())
    job = await rig.service.submit("alice", "work")
    await rig.relay().relay_all()
    await rig.queue.publish([job.id])  # a relay that died between publishing and stamping
    first, second = await rig.queue.receive("w1", count=2, block_ms=0)
    executor = rig.executor("w1")
    outcomes = await asyncio.gather(executor.handle(first), executor.handle(second))
    assert sorted(outcomes) == sorted([Outcome.SUCCEEDED, Outcome.DUPLICATE])
    assert handler.started == [(job.id, 1)]
    assert await rig.queue.stream_length() == 0
    assert await rig.queue.counters() == {"succeeded": 1, "duplicate_suppressed": 1}


async def test_jobs_in_flight_together_share_their_claim_and_finish(rig: Rig) -> None:
    rig.registry.register("work", handler := RecordingHandler())
    jobs = await rig.service.submit_many("alice", "work", [{"n": n} for n in range(6)])
    deliveries = await publish_and_receive(rig)
    transactions = 0
    make_uow = rig.uow

    def counting_uow() -> InMemoryUnitOfWork:
        nonlocal transactions
        transactions += 1
        return make_uow()

    rig.uow = counting_uow  # type: ignore[method-assign]
    executor = rig.executor("w1")
    outcomes = await asyncio.gather(*(executor.handle(d) for d in deliveries))
    assert outcomes == [Outcome.SUCCEEDED] * 6
    assert transactions == 2  # one claim and one finish for all six, not twelve
    assert sorted(handler.finished_ids()) == sorted(job.id for job in jobs)
    assert await rig.queue.counters() == {"succeeded": 6}
    assert await rig.queue.stream_length() == 0


async def test_a_claim_cancelled_mid_flush_is_handed_back(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    rig.registry.register("work", handler := RecordingHandler())
    job = await rig.service.submit("alice", "work")
    [delivery] = await publish_and_receive(rig)
    flushing, go = asyncio.Event(), asyncio.Event()
    original = InMemoryJobStore.start_many

    async def slow_start_many(self: InMemoryJobStore, *args: Any, **kwargs: Any) -> Any:
        flushing.set()
        await go.wait()  # the drain cancels the worker's task while the claim is in flight
        return await original(self, *args, **kwargs)

    monkeypatch.setattr(InMemoryJobStore, "start_many", slow_start_many)
    handling = asyncio.create_task(rig.executor().handle(delivery))
    await flushing.wait()
    handling.cancel()
    await asyncio.sleep(0)
    go.set()
    with pytest.raises(asyncio.CancelledError):
        await handling
    await eventually(lambda: _started(rig, job.id))  # the flush did claim it
    back = await rig.job(job.id)
    assert (back.status, back.attempt, back.published_at) == (JobStatus.QUEUED, 1, None)
    assert handler.started == []


async def _started(rig: Rig, job_id: UUID) -> bool:
    return (await rig.job(job_id)).attempt == 1
