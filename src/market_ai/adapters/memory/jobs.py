"""In-memory job store: transitions are staged until commit and re-checked when applied."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from market_ai.adapters.memory import job_history
from market_ai.domain.errors import Conflict
from market_ai.domain.job_store import Finished, JobFigures
from market_ai.domain.jobs import WAITING, Job, JobStatus

if TYPE_CHECKING:
    from datetime import datetime
    from uuid import UUID

    from market_ai.adapters.memory.unit_of_work import InMemoryStore

Allowed = Callable[[Job], bool]
Update = Callable[[Job], Job]


def _running(attempt: int) -> Allowed:
    return lambda job: job.status is JobStatus.RUNNING and job.attempt == attempt


def _always(_: Job) -> bool:
    return True


def _set(**fields: object) -> Update:
    return lambda job: replace(job, **fields)  # type: ignore[arg-type]


class InMemoryJobStore:
    """Behaves like the SQL store's conditional UPDATEs, serialised by the event loop.

    A change is a condition plus an update. Reads see committed rows with this unit of
    work's changes applied; commit applies them again to the rows as they are then, and a
    condition another unit of work has broken meanwhile fails the commit (Conflict), as a
    row lock would have made the second writer wait and match nothing.
    """

    def __init__(self, store: InMemoryStore) -> None:
        self._store = store
        self._new: dict[UUID, Job] = {}
        self._changes: dict[UUID, list[tuple[Allowed, Update]]] = {}

    def _current(self, job_id: UUID) -> Job | None:
        job = self._store.jobs.get(job_id) or self._new.get(job_id)
        for allowed, update in self._changes.get(job_id, ()):
            if job is not None and allowed(job):
                job = update(job)
        return job

    def _all(self) -> list[Job]:
        ids = set(self._store.jobs) | set(self._new)
        return [job for job in (self._current(i) for i in ids) if job is not None]

    def _stage(self, job_id: UUID, allowed: Allowed, update: Update) -> Job | None:
        job = self._current(job_id)
        if job is None or not allowed(job):
            return None
        self._changes.setdefault(job_id, []).append((allowed, update))
        return update(job)

    async def add(self, job: Job) -> Job:
        """Stage the new row, or return the owner's job that already has this key."""
        key = (job.owner_id, job.idempotency_key)
        if job.idempotency_key is not None:
            for existing in self._all():
                if (existing.owner_id, existing.idempotency_key) == key:
                    return existing
        if self._current(job.id) is not None:
            raise Conflict(f"job {job.id} already exists")
        self._new[job.id] = job
        return job

    async def add_many(self, jobs: Sequence[Job]) -> Sequence[Job]:
        """`add` each, in order."""
        return [await self.add(job) for job in jobs]

    async def get(self, job_id: UUID) -> Job | None:
        """The job, committed or staged here."""
        return self._current(job_id)

    async def start(self, job_id: UUID, now: datetime, lease_until: datetime) -> Job | None:
        """Claim the job when it is claimable now."""
        return self._stage(
            job_id,
            lambda job: job.claimable(now),
            lambda job: replace(
                job,
                status=JobStatus.RUNNING,
                attempt=job.attempt + 1,
                started_at=now,
                finished_at=None,
                lease_expires_at=lease_until,
            ),
        )

    async def start_many(
        self, job_ids: Sequence[UUID], now: datetime, lease_until: datetime
    ) -> Sequence[Job]:
        """`start` each; nothing is ever locked here, so none is skipped."""
        started = [await self.start(job_id, now, lease_until) for job_id in dict.fromkeys(job_ids)]
        return [job for job in started if job is not None]

    async def renew(self, job_id: UUID, attempt: int, lease_until: datetime) -> bool:
        """Extend the lease of the running attempt."""
        updated = self._stage(
            job_id, _running(attempt), lambda job: replace(job, lease_expires_at=lease_until)
        )
        return updated is not None

    async def succeed(
        self, job_id: UUID, attempt: int, result: Mapping[str, Any] | None, now: datetime
    ) -> bool:
        """Finish the running attempt."""
        update = _set(
            status=JobStatus.SUCCEEDED,
            result=result,
            last_error=None,
            finished_at=now,
            lease_expires_at=None,
        )
        return self._stage(job_id, _running(attempt), update) is not None

    async def succeed_many(self, finished: Sequence[Finished], now: datetime) -> set[UUID]:
        """`succeed` each; the ids whose attempt still ran."""
        return {
            f.job_id for f in finished if await self.succeed(f.job_id, f.attempt, f.result, now)
        }

    async def fail(
        self, job_id: UUID, attempt: int, error: str, now: datetime, retry_at: datetime | None
    ) -> bool:
        """Record the failed attempt; a retry is published again once due."""
        if retry_at is None:
            update = _set(
                status=JobStatus.DEAD, last_error=error, finished_at=now, lease_expires_at=None
            )
        else:
            update = _set(
                status=JobStatus.FAILED,
                last_error=error,
                run_after=retry_at,
                lease_expires_at=None,
                published_at=None,
            )
        return self._stage(job_id, _running(attempt), update) is not None

    async def release(self, job_id: UUID, attempt: int, now: datetime) -> bool:
        """Queue the running attempt's job again, due now; the attempt is given back."""

        def update(job: Job) -> Job:
            return replace(
                job,
                status=JobStatus.QUEUED,
                max_attempts=job.max_attempts + 1,
                run_after=now,
                lease_expires_at=None,
                published_at=None,
            )

        return self._stage(job_id, _running(attempt), update) is not None

    async def bury(self, job_id: UUID, error: str, now: datetime) -> bool:
        """Dead, unless finished or running on a live lease."""
        update = _set(
            status=JobStatus.DEAD, last_error=error, finished_at=now, lease_expires_at=None
        )

        def allowed(job: Job) -> bool:
            return job.status in WAITING or job.claimable(now)

        return self._stage(job_id, allowed, update) is not None

    async def list_dead(self, *, limit: int) -> Sequence[Job]:
        """Dead jobs, most recently finished first."""
        dead = [job for job in self._all() if job.status is JobStatus.DEAD]
        dead.sort(key=lambda job: (job.finished_at or job.created_at, job.id.bytes), reverse=True)
        return dead[:limit]

    async def revive(self, job_id: UUID, now: datetime, *, extra_attempts: int) -> Job | None:
        """Queue a dead job again."""
        return self._stage(
            job_id,
            lambda job: job.status is JobStatus.DEAD,
            lambda job: replace(
                job,
                status=JobStatus.QUEUED,
                max_attempts=job.attempt + extra_attempts,
                run_after=now,
                finished_at=None,
                published_at=None,
            ),
        )

    async def claim_unpublished(self, now: datetime, *, limit: int) -> Sequence[UUID]:
        """Unpublished claimable jobs, oldest due first (one relay per process: no locks)."""
        due = [job for job in self._all() if job.published_at is None and job.claimable(now)]
        due.sort(key=lambda job: (job.run_after, job.id.bytes))
        return [job.id for job in due[:limit]]

    async def mark_published(self, job_ids: Sequence[UUID], now: datetime) -> None:
        """Record the publication time."""
        for job_id in job_ids:
            self._stage(job_id, _always, _set(published_at=now))

    async def unpublish_stale(self, *, published_before: datetime, lease_before: datetime) -> int:
        """Clear `published_at` where the queue may have lost the id."""
        matched = await self.stale_published(
            published_before=published_before, lease_before=lease_before, limit=len(self._all())
        )
        return self._restamp(matched, None, None)  # matched just now: stale by definition

    async def stale_published(
        self, *, published_before: datetime, lease_before: datetime, limit: int
    ) -> Sequence[UUID]:
        """Stale publications, oldest first."""
        stale = [
            job for job in self._all() if job_history.stale(job, published_before, lease_before)
        ]
        stale.sort(key=lambda job: (job.published_at, job.id.bytes))
        return [job.id for job in stale[:limit]]

    async def unpublish(self, job_ids: Sequence[UUID], *, published_before: datetime) -> int:
        """Clear `published_at` of those still published before then."""
        return self._restamp(job_ids, published_before, None)

    async def confirm_published(
        self, job_ids: Sequence[UUID], *, published_before: datetime, now: datetime
    ) -> None:
        """Stamp `now` on those still published before then."""
        self._restamp(job_ids, published_before, now)

    def _restamp(
        self, job_ids: Sequence[UUID], published_before: datetime | None, stamp: datetime | None
    ) -> int:
        def still(job: Job) -> bool:
            if job.published_at is None:
                return False
            return published_before is None or job.published_at < published_before

        moved = [job_id for job_id in job_ids if (job := self._current(job_id)) and still(job)]
        for job_id in moved:
            self._stage(job_id, still, _set(published_at=stamp))
        return len(moved)

    async def prune_finished(self, before: datetime, *, limit: int) -> int:
        """Drop the oldest succeeded jobs finished before then (applied at once: no fence)."""
        old = job_history.prunable(self._all(), before)[:limit]
        for job in old:
            self._store.jobs.pop(job.id, None)
        return len(old)

    async def figures(self) -> JobFigures:
        """Counts over every row."""
        return job_history.figures(self._all())

    def prepare(self) -> dict[UUID, Job]:
        """The rows as they will be after commit; Conflict if a condition no longer holds."""
        rows: dict[UUID, Job] = {}
        if self._new:
            keys: dict[tuple[str, str | None], UUID] = {
                (j.owner_id, j.idempotency_key): j.id
                for j in self._store.jobs.values()
                if j.idempotency_key is not None
            }
            for job_id, job in self._new.items():
                if job_id in self._store.jobs:
                    raise Conflict(f"job {job_id} already exists")
                if keys.get((job.owner_id, job.idempotency_key), job_id) != job_id:
                    raise Conflict("the idempotency key was used concurrently; try again")
                rows[job_id] = job
        for job_id, changes in self._changes.items():
            current = rows.get(job_id) or self._store.jobs.get(job_id)
            for allowed, update in changes:
                if current is None or not allowed(current):
                    raise Conflict("the job changed concurrently; try again")
                current = update(current)
            if current is not None:
                rows[job_id] = current
        return rows

    def apply(self, rows: dict[UUID, Job]) -> None:
        """Store what `prepare` computed."""
        self._store.jobs.update(rows)
        self.rollback()

    def rollback(self) -> None:
        """Forget staged changes."""
        self._new.clear()
        self._changes.clear()
