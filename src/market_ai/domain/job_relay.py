"""The outbox relay and the reconciler: committed job rows reach the queue, and reach it again."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from datetime import datetime, timedelta

    from market_ai.domain.job_queue import JobQueue
    from market_ai.domain.ports import Clock, UnitOfWorkFactory

RELAY_BATCH: Final = 500
RECONCILE_BATCHES: Final = 20  # batches one reconcile round may check at most


class JobRelay:
    """Publishes job ids from the rows; the rows stay the truth.

    Relay: rows not yet published are selected (locked, skipping rows another relay holds),
    published, then stamped `published_at`, in one transaction. A crash between publish and
    commit only publishes them again; the worker's fenced claim suppresses the duplicate.

    Reconciler: the queue may lose entries (Redis restarted without AOF, failed over, was
    flushed). Waiting jobs published more than `republish_after` ago, and running jobs whose
    lease ended more than a lease ago (their reclaim should have happened by then), are
    checked against the queue, and those it lost are unpublished so the relay sends them
    again. So no lost entry stays lost much longer than `republish_after` plus a reconcile
    interval, and an entry the queue still holds is never duplicated.
    """

    def __init__(  # noqa: PLR0913 - ports and timings, all by keyword
        self,
        *,
        unit_of_work: UnitOfWorkFactory,
        queue: JobQueue,
        clock: Clock,
        republish_after: timedelta,
        lease: timedelta,
        batch: int = RELAY_BATCH,
    ) -> None:
        self._uow = unit_of_work
        self._queue = queue
        self._clock = clock
        self._republish_after = republish_after
        self._lease = lease
        self._batch = batch

    async def relay_once(self) -> int:
        """Publish one batch of due, unpublished jobs; returns how many."""
        now = self._clock.now()
        async with self._uow() as uow:
            ids = await uow.jobs.claim_unpublished(now, limit=self._batch)
            if not ids:
                return 0
            await self._queue.publish(ids)
            await uow.jobs.mark_published(ids, now)
            await uow.commit()
        return len(ids)

    async def relay_all(self) -> int:
        """Publish batches until a short one says nothing more is due."""
        total = 0
        while (published := await self.relay_once()) > 0:
            total += published
            if published < self._batch:
                break
        return total

    async def reconcile_once(self) -> int:
        """Unpublish what the queue has lost; returns how many the relay will resend.

        Stale publications are checked against the queue in bounded batches, oldest first:
        ids the queue still holds are stamped as checked now (so the next batches reach the
        others), only the lost ones are unpublished. A backlog that merely waits is left as
        it is, one entry per job.
        """
        now = self._clock.now()
        published_before, lease_before = now - self._republish_after, now - self._lease
        lost_total = 0
        for _ in range(RECONCILE_BATCHES):
            async with self._uow() as uow:
                stale = await uow.jobs.stale_published(
                    published_before=published_before, lease_before=lease_before, limit=self._batch
                )
            if not stale:
                break
            lost = await self._queue.missing(stale)
            # Rows published again since `now` are left alone: this pass decided on older
            # stamps (a running job on a lapsed lease is stale however recent its stamp).
            async with self._uow() as uow:
                lost_total += await uow.jobs.unpublish(
                    [job_id for job_id in stale if job_id in lost], published_before=now
                )
                await uow.jobs.confirm_published(
                    [job_id for job_id in stale if job_id not in lost],
                    published_before=now,
                    now=now,
                )
                await uow.commit()
            if len(stale) < self._batch:
                break
        if lost_total:
            await self._queue.count("republished", lost_total)
        return lost_total

    async def forget_published(self) -> int:
        """At the start of a worker whose queue lives in its own process (the embedded one).

        Such a queue died with the previous process, so everything it was handed is gone:
        waiting jobs and running ones whose lease already ended are sent again at once; the
        others when the reconciler finds their lease over.
        """
        now = self._clock.now()
        return await self._unpublish(now, now)

    async def _unpublish(self, published_before: datetime, lease_before: datetime) -> int:
        async with self._uow() as uow:
            count = await uow.jobs.unpublish_stale(
                published_before=published_before, lease_before=lease_before
            )
            await uow.commit()
        if count:
            await self._queue.count("republished", count)
        return count
