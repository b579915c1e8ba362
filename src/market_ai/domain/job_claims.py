"""Claiming a delivered job: batched and fenced, retried through outages, handed back if cut."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Final

from market_ai.domain.batching import Batcher
from market_ai.domain.jobs import Job, JobStatus, describe_error

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Sequence
    from datetime import datetime
    from uuid import UUID

    from market_ai.domain.job_lease import LeaseTerms
    from market_ai.domain.job_queue import Delivery, JobQueue
    from market_ai.domain.ports import Clock, UnitOfWorkFactory

log = logging.getLogger(__name__)

CLAIM_RETRY_FIRST: Final = 0.25  # a claim the database could not answer is tried again...
CLAIM_RETRY_MAX: Final = 2.0  # ...backing off to this, so a backlog resumes soon after an outage


class Claims:
    """The claims of one worker's deliveries, shared in batches (group commit)."""

    def __init__(
        self,
        *,
        unit_of_work: UnitOfWorkFactory,
        queue: JobQueue,
        clock: Clock,
        terms: LeaseTerms,
        consumer: str,
    ) -> None:
        self._uow = unit_of_work
        self._queue = queue
        self._clock = clock
        self._terms = terms
        self.consumer = consumer
        self._batch = Batcher(self._start_many)

    async def claim(
        self, delivery: Delivery, *, hand_back: Callable[[Job], Awaitable[None]]
    ) -> tuple[Job | None, float]:
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
                return await self._claim(delivery.job_id, hand_back), began
            except Exception as error:  # noqa: BLE001 - an outage: the claim is retried
                log.warning("job.claim_failed %s: %s", delivery.job_id, describe_error(error))
            await asyncio.sleep(pause)
            pause = min(pause * 2, CLAIM_RETRY_MAX)
            try:
                await self._queue.renew(self.consumer, [delivery.receipt])
            except Exception as error:  # noqa: BLE001 - the queue may be down too
                log.warning("job.entry_renew_failed %s: %s", delivery.job_id, error)

    async def _claim(self, job_id: UUID, hand_back: Callable[[Job], Awaitable[None]]) -> Job | None:
        """Fenced claim, batched; a miss is settled by a claim of its own.

        The batched claim skips rows another transaction holds, so a miss may be a job
        another worker is finishing right now: the single claim waits for that row's lock
        and decides, and waits out once a lease about to end (clocks differ by a little).
        """
        job = await self._claimed(job_id, hand_back)
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

    async def _claimed(
        self, job_id: UUID, hand_back: Callable[[Job], Awaitable[None]]
    ) -> Job | None:
        """The batched claim; cancelled mid-flush, a job it claimed anyway is handed back.

        The flush runs in its own task and may commit after this caller was cancelled (a
        drain): without the hand-back the job would sit running on a lease nobody renews.
        """
        claim = asyncio.ensure_future(self._batch.submit(job_id))
        try:
            return await asyncio.shield(claim)
        except asyncio.CancelledError:
            done, _ = await asyncio.wait({claim}, timeout=self._terms.renew_every)
            if done and not claim.cancelled() and claim.exception() is None:
                job = claim.result()
                if job is not None:
                    await hand_back(job)
            raise

    async def _start_many(self, job_ids: Sequence[UUID]) -> list[Job | None]:
        now = self._clock.now()
        async with self._uow() as uow:
            started = await uow.jobs.start_many(job_ids, now, now + self._terms.lease)
            await uow.commit()
        by_id = {job.id: job for job in started}
        # Two deliveries of one job in one batch: the first gets it, the other is a duplicate.
        return [by_id.pop(job_id, None) for job_id in job_ids]


def _lease_left(job: Job, now: datetime) -> float | None:
    if job.status is not JobStatus.RUNNING or job.lease_expires_at is None:
        return None
    return max((job.lease_expires_at - now).total_seconds(), 0.0)
