"""Running one delivery: fenced claim, handler under a renewed lease, outcome, ack."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Final

from market_ai.domain.batching import Batcher
from market_ai.domain.job_store import Finished
from market_ai.domain.jobs import (
    Job,
    JobContext,
    JobStatus,
    PermanentJobError,
    UnknownJobType,
    check_result,
    describe_error,
)

if TYPE_CHECKING:
    from collections.abc import Awaitable, Sequence
    from datetime import datetime
    from uuid import UUID

    from market_ai.domain.job_queue import Delivery, JobQueue
    from market_ai.domain.job_registry import JobRegistry, JobResult
    from market_ai.domain.jobs import RetryPolicy
    from market_ai.domain.ports import Clock, UnitOfWorkFactory

log = logging.getLogger(__name__)

CLAIM_RETRY_FIRST: Final = 0.25  # a claim the database could not answer is tried again...
CLAIM_RETRY_MAX: Final = 2.0  # ...backing off to this, so a backlog resumes soon after an outage


class Outcome(StrEnum):
    """What became of a delivery (for logs, counters and tests)."""

    SUCCEEDED = "succeeded"
    RETRYING = "retrying"
    DEAD = "dead"
    DUPLICATE = "duplicate_suppressed"
    FENCED_OUT = "fenced_out"
    ABANDONED = "lease_abandoned"
    SKIPPED = "skipped"


@dataclass(frozen=True, slots=True)
class LeaseTerms:
    """How long an attempt owns its job, and how many crash-redeliveries make it poison."""

    lease_seconds: float = 30.0
    max_deliveries: int = 5

    @property
    def lease(self) -> timedelta:
        """The lease as a duration."""
        return timedelta(seconds=self.lease_seconds)

    @property
    def renew_every(self) -> float:
        """Renew three times per lease, so two lost renewals in a row still keep it."""
        return self.lease_seconds / 3

    @property
    def margin(self) -> float:
        """How long before its lease can lapse a worker that cannot renew stops its handler."""
        return self.lease_seconds / 6


class _LeaseLapsing(Exception):  # noqa: N818 - a signal between the watchdog and the runner
    """Renewals kept failing: the lease is about to lapse, so the handler was stopped."""


class _FenceLost(Exception):  # noqa: N818 - a signal between the lease keeper and the runner
    """Another attempt owns the job now; this one must stop and record nothing."""


class JobExecutor:
    """Handles deliveries for one consumer; any number run concurrently.

    At-least-once delivery means the same job id may arrive twice. The fenced claim decides:
    one attempt runs, the other delivery is acked and counted as `duplicate_suppressed`.

    The hot path is batched across the deliveries in flight (group commit): claims made at
    the same moment share one transaction, so do successes, and acks share one round trip.
    Each job keeps its own fence, so batching changes the cost of a job, not its guarantees.
    """

    def __init__(  # noqa: PLR0913 - the ports and policies a worker is made of
        self,
        *,
        unit_of_work: UnitOfWorkFactory,
        queue: JobQueue,
        registry: JobRegistry,
        clock: Clock,
        retry: RetryPolicy,
        terms: LeaseTerms,
        consumer: str,
    ) -> None:
        self._uow = unit_of_work
        self._queue = queue
        self._registry = registry
        self._clock = clock
        self._retry = retry
        self._terms = terms
        self.consumer = consumer
        self.active: dict[UUID, str] = {}  # job id -> receipt of the entry it runs under
        self._claims = Batcher(self._start_many)
        self._successes = Batcher(self._succeed_many)
        self._settlements = Batcher(self._settle_many)

    async def handle(self, delivery: Delivery) -> Outcome:
        """Take the delivery to an outcome; cancelled (a drain) hands the job back."""
        held = self.active.get(delivery.job_id)
        if held == delivery.receipt:
            return Outcome.SKIPPED  # the very entry being run: its own run settles it
        if held is not None:  # another entry of a job running here: a duplicate
            await self._settle(delivery, Outcome.DUPLICATE)
            return Outcome.DUPLICATE
        if delivery.deliveries > self._terms.max_deliveries and await self._crashed_often(
            delivery.job_id
        ):
            return await self._poison(delivery)
        job, claimed_at = await self._claim_until_answered(delivery)
        if job is None:
            log.info(
                "job.duplicate_suppressed %s deliveries=%d", delivery.job_id, delivery.deliveries
            )
            await self._settle(delivery, Outcome.DUPLICATE)
            return Outcome.DUPLICATE
        self.active[job.id] = delivery.receipt
        try:
            return await self._run(job, delivery, claimed_at)
        finally:
            self.active.pop(job.id, None)

    async def _claim_until_answered(self, delivery: Delivery) -> tuple[Job | None, float]:
        """The claim, retried every few seconds at most while the database cannot answer.

        A failed claim used to leave the entry pending until a reclaim or a republication
        (a minute), so a short outage stalled the whole backlog; retrying here (and keeping
        the entry's lease alive meanwhile) lets it move again as soon as the database is back.
        Returns the job (None: someone else has it) and the loop time the claim began.
        """
        loop = asyncio.get_running_loop()
        pause = CLAIM_RETRY_FIRST
        while True:
            began = loop.time()
            try:
                return await self._claim(delivery.job_id), began
            except Exception as error:  # noqa: BLE001 - an outage: the claim is retried
                log.warning("job.claim_failed %s: %s", delivery.job_id, describe_error(error))
            await asyncio.sleep(pause)
            pause = min(pause * 2, CLAIM_RETRY_MAX)
            try:
                await self._queue.renew(self.consumer, [delivery.receipt])
            except Exception as error:  # noqa: BLE001 - the queue may be down too
                log.warning("job.entry_renew_failed %s: %s", delivery.job_id, error)

    async def suspect(self, delivery: Delivery) -> bool:
        """Whether a redelivered job really started and never finished (it may crash workers).

        A job that was never started (attempt 0), was handed back or failed cleanly is no
        suspect, however often its entry was handed out. Unknown (the database is down)
        counts as suspect: the safe side.
        """
        if delivery.deliveries <= 1 or delivery.job_id in self.active:
            return False
        try:
            async with self._uow() as uow:
                job = await uow.jobs.get(delivery.job_id)
        except Exception:  # noqa: BLE001 - unknown: treated as a suspect
            return True
        return job is not None and job.status is JobStatus.RUNNING

    async def _crashed_often(self, job_id: UUID) -> bool:
        """Whether the job itself was started that often, not just held by crashing workers.

        An entry's delivery count also rises when it merely sat in a worker that another
        job crashed; the row's attempt counts real starts, so only the culprit is buried.
        """
        async with self._uow() as uow:
            job = await uow.jobs.get(job_id)
        return job is None or job.attempt >= self._terms.max_deliveries

    async def _poison(self, delivery: Delivery) -> Outcome:
        error = f"delivered {delivery.deliveries} times without finishing: it crashes its workers"
        async with self._uow() as uow:
            buried = await uow.jobs.bury(delivery.job_id, error, self._clock.now())
            await uow.commit()
        outcome = Outcome.DEAD if buried else Outcome.DUPLICATE
        if buried:
            log.warning("job.poisoned %s deliveries=%d", delivery.job_id, delivery.deliveries)
        await self._settle(delivery, outcome)
        return outcome

    async def _claim(self, job_id: UUID) -> Job | None:
        """Fenced claim, batched; a miss is settled by a claim of its own.

        The batched claim skips rows another transaction holds, so a miss may be a job
        another worker is finishing right now: the single claim waits for that row's lock
        and decides, and waits out once a lease about to end (clocks differ by a little).
        """
        job = await self._claimed(job_id)
        if job is not None:
            return job
        for last_try in (False, True):
            now = self._clock.now()
            async with self._uow() as uow:
                job = await uow.jobs.start(job_id, now, now + self._terms.lease)
                seen = await uow.jobs.get(job_id) if job is None else job
                await uow.commit()
            if job is not None or seen is None or last_try:
                return job
            left = _lease_left(seen, now)
            if left is None or left > self._terms.renew_every:
                return None
            await asyncio.sleep(left + 0.05)
        return None

    async def _claimed(self, job_id: UUID) -> Job | None:
        """The batched claim; cancelled mid-flush, a job it claimed anyway is handed back.

        The flush runs in its own task and may commit after this caller was cancelled (a
        drain): without the hand-back the job would sit running on a lease nobody renews.
        """
        claim = asyncio.ensure_future(self._claims.submit(job_id))
        try:
            return await asyncio.shield(claim)
        except asyncio.CancelledError:
            done, _ = await asyncio.wait({claim}, timeout=self._terms.renew_every)
            if done and not claim.cancelled() and claim.exception() is None:
                job = claim.result()
                if job is not None:
                    await self._hand_back(job)
            raise

    async def _run(self, job: Job, delivery: Delivery, claimed_at: float) -> Outcome:
        context = JobContext(job.id, job.attempt, job.owner_id, job.type, job.payload)
        try:
            handler = self._registry.handler(job.type)
            result = await self._leased(job, delivery, handler(context), claimed_at)
            encoded = check_result(result)
        except _FenceLost:
            log.warning("job.fenced_out %s attempt=%d", job.id, job.attempt)
            return Outcome.FENCED_OUT
        except _LeaseLapsing:
            # The entry stays pending and the row running: another worker takes the job
            # over once the lease has lapsed, and nothing of this attempt runs by then.
            log.warning("job.lease_abandoned %s attempt=%d", job.id, job.attempt)
            return Outcome.ABANDONED
        except asyncio.CancelledError:
            await asyncio.shield(self._hand_back(job))
            raise
        except (PermanentJobError, UnknownJobType) as error:
            return await self._failed(job, delivery, error, permanent=True)
        except Exception as error:  # noqa: BLE001 - any handler failure is the job's, not ours
            return await self._failed(job, delivery, error, permanent=False)
        done = await self._successes.submit(Finished(job.id, job.attempt, encoded))
        if not done:
            log.warning("job.fenced_out %s attempt=%d", job.id, job.attempt)
            return Outcome.FENCED_OUT
        await self._settle(delivery, Outcome.SUCCEEDED)
        return Outcome.SUCCEEDED

    async def _leased(
        self, job: Job, delivery: Delivery, work: Awaitable[JobResult], claimed_at: float
    ) -> JobResult:
        """Await `work` while renewing the database lease, then the queue entry, every L/3.

        The database first: the queue entry then never becomes reclaimable while the row's
        lease still runs. A renewal that finds the fence taken cancels the work. Renewals
        that fail or hang cancel it too, a margin before the lease could lapse (counted from
        when the last successful renewal began), so no other worker can start the job while
        this one still produces effects.
        """
        loop = asyncio.get_running_loop()
        task: asyncio.Future[JobResult] = asyncio.ensure_future(work)
        lost = False
        held_until = claimed_at + self._terms.lease_seconds - self._terms.margin

        async def keep() -> None:
            nonlocal lost, held_until
            while True:
                await asyncio.sleep(self._terms.renew_every)
                began = loop.time()
                try:
                    async with asyncio.timeout(self._terms.renew_every):
                        held = await self._renew(job)
                    if not held:
                        lost = True
                        task.cancel()
                        return
                    held_until = began + self._terms.lease_seconds - self._terms.margin
                    await self._queue.renew(self.consumer, [delivery.receipt])
                except Exception:  # a blip: the lease allows two more tries before it ends
                    log.exception("job.renew_failed %s", job.id)

        keeper = asyncio.create_task(keep())
        try:
            while not task.done():
                await asyncio.wait({task}, timeout=max(held_until - loop.time(), 0.0))
                if not task.done() and loop.time() >= held_until:
                    task.cancel()
                    await asyncio.wait({task})
                    if not lost:
                        raise _LeaseLapsing
            return await task
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if lost and (current is None or current.cancelling() == 0):
                raise _FenceLost from None
            task.cancel()  # this attempt itself is cancelled (a drain): so is the handler
            await asyncio.wait({task})
            raise
        finally:
            keeper.cancel()  # bounded wait: a renewal stuck in a driver must not hold the job
            await asyncio.wait({keeper}, timeout=self._terms.renew_every)

    async def _renew(self, job: Job) -> bool:
        async with self._uow() as uow:
            held = await uow.jobs.renew(job.id, job.attempt, self._clock.now() + self._terms.lease)
            await uow.commit()
        return held

    async def _failed(
        self, job: Job, delivery: Delivery, error: BaseException, *, permanent: bool
    ) -> Outcome:
        now = self._clock.now()
        dead = permanent or job.attempt >= job.max_attempts
        retry_at = None if dead else now + self._retry.delay(job.attempt)
        async with self._uow() as uow:
            moved = await uow.jobs.fail(job.id, job.attempt, describe_error(error), now, retry_at)
            await uow.commit()
        if not moved:
            return Outcome.FENCED_OUT
        outcome = Outcome.DEAD if dead else Outcome.RETRYING
        log.info("job.%s %s attempt=%d: %s", outcome, job.id, job.attempt, describe_error(error))
        await self._settle(delivery, outcome)
        return outcome

    async def _hand_back(self, job: Job) -> None:
        """Drain: the row is queued and unpublished again, so any worker may take it at once.

        The queue entry is left pending (not acked): were the database unreachable now, the
        entry would still be reclaimed after the lease.
        """
        try:
            async with self._uow() as uow:
                await uow.jobs.release(job.id, job.attempt, self._clock.now())
                await uow.commit()
        except Exception:
            log.exception("job.hand_back_failed %s", job.id)
        else:
            log.info("job.handed_back %s attempt=%d", job.id, job.attempt)

    async def _settle(self, delivery: Delivery, outcome: Outcome) -> None:
        """Ack the entry (acked entries are deleted) and count the outcome."""
        await self._settlements.submit((delivery.receipt, outcome))

    async def _start_many(self, job_ids: Sequence[UUID]) -> list[Job | None]:
        now = self._clock.now()
        async with self._uow() as uow:
            started = await uow.jobs.start_many(job_ids, now, now + self._terms.lease)
            await uow.commit()
        by_id = {job.id: job for job in started}
        # Two deliveries of one job in one batch: the first gets it, the other is a duplicate.
        return [by_id.pop(job_id, None) for job_id in job_ids]

    async def _succeed_many(self, finished: Sequence[Finished]) -> list[bool]:
        async with self._uow() as uow:
            moved = await uow.jobs.succeed_many(finished, self._clock.now())
            await uow.commit()
        return [item.job_id in moved for item in finished]

    async def _settle_many(self, settled: Sequence[tuple[str, Outcome]]) -> list[None]:
        await self._queue.ack([receipt for receipt, _ in settled])
        for outcome, amount in Counter(outcome for _, outcome in settled).items():
            await self._queue.count(outcome.value, amount)
        return [None] * len(settled)


def _lease_left(job: Job, now: datetime) -> float | None:
    if job.status is not JobStatus.RUNNING or job.lease_expires_at is None:
        return None
    return max((job.lease_expires_at - now).total_seconds(), 0.0)
