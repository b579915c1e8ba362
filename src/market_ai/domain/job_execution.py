"""Running one delivery: fenced claim, handler under a renewed lease, outcome, ack."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from enum import StrEnum
from typing import TYPE_CHECKING

from market_ai.domain.batching import Batcher
from market_ai.domain.job_claims import Claims
from market_ai.domain.job_lease import FenceLost, LeaseLapsing, LeaseTerms, keep_leased
from market_ai.domain.job_observer import QuietJobObserver
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
    from collections.abc import Awaitable, Callable, Sequence
    from uuid import UUID

    from market_ai.domain.job_observer import JobObserver
    from market_ai.domain.job_queue import Delivery, JobQueue
    from market_ai.domain.job_registry import JobRegistry, JobResult
    from market_ai.domain.jobs import RetryPolicy
    from market_ai.domain.ports import Clock, UnitOfWorkFactory

log = logging.getLogger(__name__)


class Outcome(StrEnum):
    """What became of a delivery (for logs, counters and tests)."""

    SUCCEEDED = "succeeded"
    RETRYING = "retrying"
    DEAD = "dead"
    DUPLICATE = "duplicate_suppressed"
    FENCED_OUT = "fenced_out"
    ABANDONED = "lease_abandoned"
    SKIPPED = "skipped"


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
        redact: Callable[[str], str] | None = None,
        observer: JobObserver | None = None,
    ) -> None:
        self._observer = observer or QuietJobObserver()
        self._uow = unit_of_work
        self._queue = queue
        self._registry = registry
        self._clock = clock
        self._retry = retry
        self._terms = terms
        self.consumer, self._redact = consumer, redact
        self.active: dict[UUID, str] = {}  # job id -> receipt of the entry it runs under
        self._claims = Claims(
            unit_of_work=unit_of_work, queue=queue, clock=clock, terms=terms, consumer=consumer
        )
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
        job, claimed_at = await self._claims.claim(delivery, hand_back=self._hand_back)
        if job is None:
            log.info(
                "job.duplicate_suppressed %s deliveries=%d", delivery.job_id, delivery.deliveries
            )
            await self._settle(delivery, Outcome.DUPLICATE)
            return Outcome.DUPLICATE
        self.active[job.id] = delivery.receipt
        began = self._clock.now()
        self._observer.started(job)
        try:
            outcome = await self._run(job, delivery, claimed_at)
        finally:
            self.active.pop(job.id, None)
        self._observer.finished(job, outcome.value, (self._clock.now() - began).total_seconds())
        return outcome

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
            self._observer.died(delivery.job_id, None, error)
        await self._settle(delivery, outcome)
        return outcome

    async def _run(self, job: Job, delivery: Delivery, claimed_at: float) -> Outcome:
        context = JobContext(
            job.id, job.attempt, job.owner_id, job.type, job.payload, job.request_id
        )
        try:
            handler = self._registry.handler(job.type)
            result = await self._leased(job, delivery, handler(context), claimed_at)
            encoded = check_result(result)
        except FenceLost:
            log.warning("job.fenced_out %s attempt=%d", job.id, job.attempt)
            return Outcome.FENCED_OUT
        except LeaseLapsing:
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
        """Await `work` under the renewed lease (see `job_lease.keep_leased`)."""

        async def renew_row() -> bool:
            async with self._uow() as uow:
                until = self._clock.now() + self._terms.lease
                held = await uow.jobs.renew(job.id, job.attempt, until)
                await uow.commit()
            return held

        async def renew_entry() -> None:
            await self._queue.renew(self.consumer, [delivery.receipt])

        return await keep_leased(
            work,
            terms=self._terms,
            claimed_at=claimed_at,
            renew_row=renew_row,
            renew_entry=renew_entry,
            what=str(job.id),
        )

    async def _failed(
        self, job: Job, delivery: Delivery, error: BaseException, *, permanent: bool
    ) -> Outcome:
        now = self._clock.now()
        dead = permanent or job.attempt >= job.max_attempts
        retry_at = None if dead else now + self._retry.delay(job.attempt)
        text = describe_error(error, self._redact)  # configured secrets masked
        async with self._uow() as uow:
            moved = await uow.jobs.fail(job.id, job.attempt, text, now, retry_at)
            await uow.commit()
        if not moved:
            return Outcome.FENCED_OUT
        outcome = Outcome.DEAD if dead else Outcome.RETRYING
        log.info("job.%s %s attempt=%d: %s", outcome, job.id, job.attempt, text)
        if dead:
            self._observer.died(job.id, job.type, text)
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
