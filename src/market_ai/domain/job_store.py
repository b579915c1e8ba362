"""The JobStore port: job rows, with the fenced transitions and the outbox queries."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from market_ai.domain.jobs import Job


@dataclass(frozen=True, slots=True)
class Finished:
    """One successful attempt to record: the fence (`job_id`, `attempt`) and its result."""

    job_id: UUID
    attempt: int
    result: Mapping[str, Any] | None


@dataclass(frozen=True, slots=True)
class JobFigures:
    """What operators watch: how much waits, for how long, how much runs and how much died."""

    queued: int
    retrying: int
    running: int
    dead: int
    oldest_queued_at: datetime | None


class JobStore(Protocol):
    """Job rows inside one unit of work.

    Every transition of a started job is fenced by `attempt`: it applies only while the
    row is still `running` that very attempt, so a worker that lost its lease (and whose job
    another worker started again) changes nothing. Methods return whether the row moved.
    Times come from the caller's clock, the same clock for every worker.
    """

    async def add(self, job: Job) -> Job:
        """Insert `job`; with an idempotency key the owner already used, return that job."""
        ...

    async def add_many(self, jobs: Sequence[Job]) -> Sequence[Job]:
        """`add` each job, in as few statements as the store allows; returns them as stored."""
        ...

    async def get(self, job_id: UUID) -> Job | None:
        """The job, whoever owns it (workers and operators)."""
        ...

    async def start(self, job_id: UUID, now: datetime, lease_until: datetime) -> Job | None:
        """Claim the job if `Job.claimable(now)`: running, attempt + 1, leased until then."""
        ...

    async def start_many(
        self, job_ids: Sequence[UUID], now: datetime, lease_until: datetime
    ) -> Sequence[Job]:
        """`start` each job that is claimable and not held by another transaction.

        Rows another transaction is changing are skipped, not waited for (no lock-order
        deadlock between workers): a job missing from the answer may still be claimable,
        and `start` alone says for sure.
        """
        ...

    async def renew(self, job_id: UUID, attempt: int, lease_until: datetime) -> bool:
        """Extend the running attempt's lease."""
        ...

    async def succeed(
        self, job_id: UUID, attempt: int, result: Mapping[str, Any] | None, now: datetime
    ) -> bool:
        """Finish the running attempt with its result."""
        ...

    async def succeed_many(self, finished: Sequence[Finished], now: datetime) -> set[UUID]:
        """`succeed` each attempt; returns the ids whose row moved (the rest were fenced out)."""
        ...

    async def fail(
        self, job_id: UUID, attempt: int, error: str, now: datetime, retry_at: datetime | None
    ) -> bool:
        """Record a failed attempt: `failed` with a retry at `retry_at`, or `dead` if None."""
        ...

    async def release(self, job_id: UUID, attempt: int, now: datetime) -> bool:
        """Hand a running attempt back unfinished (a draining worker): queued, due now.

        The attempt is given back too (`max_attempts` + 1): a drain is not the job's failure.
        """
        ...

    async def bury(self, job_id: UUID, error: str, now: datetime) -> bool:
        """Make a job that keeps crashing its workers dead, unless a live attempt runs it."""
        ...

    async def list_dead(self, *, limit: int) -> Sequence[Job]:
        """Dead jobs, most recently finished first."""
        ...

    async def revive(self, job_id: UUID, now: datetime, *, extra_attempts: int) -> Job | None:
        """Queue a dead job again, allowed `extra_attempts` more; None if it is not dead.

        `attempt` keeps counting (it is the fencing token), so the limit moves instead.
        """
        ...

    async def claim_unpublished(self, now: datetime, *, limit: int) -> Sequence[UUID]:
        """Ids the relay must publish: committed, claimable now, not published since.

        The query selects by `published_at IS NULL`, not by an id or time cursor, so a row
        whose transaction commits late is found on a later pass rather than skipped.

        On Postgres the rows stay locked (FOR UPDATE SKIP LOCKED) until the unit of work
        ends, so concurrent relays publish disjoint sets.
        """
        ...

    async def mark_published(self, job_ids: Sequence[UUID], now: datetime) -> None:
        """Record that these ids went to the queue."""
        ...

    async def unpublish_stale(self, *, published_before: datetime, lease_before: datetime) -> int:
        """Let the relay publish again what the queue may have lost; returns how many.

        Waiting jobs published before `published_before`, and running jobs also so published
        whose lease ended before `lease_before` (their worker died and nobody reclaimed them).
        """
        ...

    async def stale_published(
        self, *, published_before: datetime, lease_before: datetime, limit: int
    ) -> Sequence[UUID]:
        """Up to `limit` ids `unpublish_stale` would pick, the oldest publications first."""
        ...

    async def unpublish(self, job_ids: Sequence[UUID], *, published_before: datetime) -> int:
        """Clear `published_at` of these ids, where it is still before `published_before`."""
        ...

    async def confirm_published(
        self, job_ids: Sequence[UUID], *, published_before: datetime, now: datetime
    ) -> None:
        """Stamp `now` on these ids (found still in the queue), where still before then.

        The guard leaves alone a row whose attempt failed meanwhile (its retry is unpublished).
        """
        ...

    async def prune_finished(self, before: datetime, *, limit: int) -> int:
        """Delete up to `limit` succeeded jobs finished before `before`; returns how many.

        Dead jobs stay until an operator retries or purges them.
        """
        ...

    async def figures(self) -> JobFigures:
        """Counts for health reports."""
        ...
