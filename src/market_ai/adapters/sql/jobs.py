"""Job store on SQLAlchemy Core: fenced conditional UPDATEs and the outbox relay's queries."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import fields
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, false, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from market_ai.adapters.sql import job_batches, job_history
from market_ai.adapters.sql.job_batches import RUNNING, WAITING_VALUES, claimable
from market_ai.adapters.sql.tables import jobs
from market_ai.domain.job_store import Finished, JobFigures
from market_ai.domain.jobs import Job, JobStatus

if TYPE_CHECKING:
    from datetime import datetime
    from uuid import UUID

    from sqlalchemy import ColumnElement, Row
    from sqlalchemy.ext.asyncio import AsyncConnection


def _to_row(job: Job) -> dict[str, Any]:
    """Columns are named after the Job's fields."""
    row = {field.name: getattr(job, field.name) for field in fields(job)}
    return {**row, "status": job.status.value, "payload": dict(job.payload)}


def _from_row(row: Row[Any]) -> Job:
    m = row._mapping  # noqa: SLF001 - SQLAlchemy's public mapping accessor
    return Job(**{**m, "status": JobStatus(m["status"])})


def _running(job_id: UUID, attempt: int) -> ColumnElement[bool]:
    """The fence: only the attempt that owns the running job may move it."""
    return and_(jobs.c.id == job_id, jobs.c.status == RUNNING, jobs.c.attempt == attempt)


class SqlJobStore:
    """Runs inside its unit of work's connection and transaction."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._conn = connection

    async def _moved(self, where: ColumnElement[bool], **values: Any) -> bool:
        result = await self._conn.execute(update(jobs).where(where).values(**values))
        return result.rowcount == 1

    async def _updated(self, where: ColumnElement[bool], **values: Any) -> Job | None:
        statement = update(jobs).where(where).values(**values).returning(*jobs.c)
        row = (await self._conn.execute(statement)).first()
        return None if row is None else _from_row(row)

    async def add(self, job: Job) -> Job:
        """INSERT; with a key, ON CONFLICT DO NOTHING and read the job that holds the key.

        On Postgres a concurrent insert of the same key waits for the other transaction:
        if it commits, this one inserts nothing and reads its row.
        """
        if job.idempotency_key is None:
            await self._conn.execute(jobs.insert().values(_to_row(job)))
            return job
        dialect = self._conn.dialect.name
        insert: Any = postgresql.insert(jobs) if dialect == "postgresql" else sqlite.insert(jobs)
        statement = insert.values(_to_row(job)).on_conflict_do_nothing(
            index_elements=["owner_id", "idempotency_key"]
        )
        inserted = (await self._conn.execute(statement.returning(jobs.c.id))).first()
        if inserted is not None:
            return job
        existing = (
            await self._conn.execute(
                select(jobs).where(
                    jobs.c.owner_id == job.owner_id,
                    jobs.c.idempotency_key == job.idempotency_key,
                )
            )
        ).first()
        if existing is None:  # the other transaction rolled back after all: try once more
            return await self.add(job)
        return _from_row(existing)

    async def add_many(self, jobs_to_add: Sequence[Job]) -> Sequence[Job]:
        """One multi-row INSERT for the jobs without a key; keyed ones go through `add`."""
        keyless = [_to_row(job) for job in jobs_to_add if job.idempotency_key is None]
        if keyless:
            await self._conn.execute(jobs.insert(), keyless)
        return [job if job.idempotency_key is None else await self.add(job) for job in jobs_to_add]

    async def get(self, job_id: UUID) -> Job | None:
        """Read one job by id."""
        row = (await self._conn.execute(select(jobs).where(jobs.c.id == job_id))).first()
        return None if row is None else _from_row(row)

    async def start(self, job_id: UUID, now: datetime, lease_until: datetime) -> Job | None:
        """UPDATE ... WHERE claimable RETURNING; a rival claim waits on the row, then misses."""
        return await self._updated(
            and_(jobs.c.id == job_id, claimable(now)),
            status=RUNNING,
            attempt=jobs.c.attempt + 1,
            started_at=now,
            finished_at=None,
            lease_expires_at=lease_until,
        )

    async def start_many(
        self, job_ids: Sequence[UUID], now: datetime, lease_until: datetime
    ) -> Sequence[Job]:
        """One UPDATE over the rows a sub-select locks with SKIP LOCKED (Postgres).

        A row another worker is claiming or finishing is skipped rather than waited for, so
        two batches never wait on each other's locks in opposite orders.
        """
        if not job_ids:
            return []
        rows = await job_batches.start_many(self._conn, job_ids, now, lease_until)
        return [_from_row(row) for row in rows]

    async def renew(self, job_id: UUID, attempt: int, lease_until: datetime) -> bool:
        """Extend the lease, fenced by attempt."""
        return await self._moved(_running(job_id, attempt), lease_expires_at=lease_until)

    async def succeed(
        self, job_id: UUID, attempt: int, result: Mapping[str, Any] | None, now: datetime
    ) -> bool:
        """Finish, fenced by attempt: a batch of one, so both paths make the same change."""
        moved = await self.succeed_many([Finished(job_id, attempt, result)], now)
        return job_id in moved

    async def succeed_many(self, finished: Sequence[Finished], now: datetime) -> set[UUID]:
        """One fenced UPDATE for the batch on Postgres (per distinct result on SQLite)."""
        if not finished:
            return set()
        return await job_batches.succeed_many(self._conn, finished, now)

    async def fail(
        self, job_id: UUID, attempt: int, error: str, now: datetime, retry_at: datetime | None
    ) -> bool:
        """Record the failure, fenced by attempt; a retry is unpublished so the relay sends it."""
        if retry_at is None:
            return await self._moved(
                _running(job_id, attempt),
                status=JobStatus.DEAD.value,
                last_error=error,
                finished_at=now,
                lease_expires_at=None,
            )
        return await self._moved(
            _running(job_id, attempt),
            status=JobStatus.FAILED.value,
            last_error=error,
            run_after=retry_at,
            lease_expires_at=None,
            published_at=None,
        )

    async def release(self, job_id: UUID, attempt: int, now: datetime) -> bool:
        """Queue the job again, due now and unpublished, fenced by attempt.

        `attempt` keeps counting (it is the fence), so the limit moves one up instead: a
        hand-back is not a failure and must not use up the job's attempts.
        """
        return await self._moved(
            _running(job_id, attempt),
            status=JobStatus.QUEUED.value,
            max_attempts=jobs.c.max_attempts + 1,
            run_after=now,
            lease_expires_at=None,
            published_at=None,
        )

    async def bury(self, job_id: UUID, error: str, now: datetime) -> bool:
        """Dead, unless finished or running on a live lease."""
        return await self._moved(
            and_(
                jobs.c.id == job_id,
                or_(jobs.c.status.in_(WAITING_VALUES), claimable(now)),
            ),
            status=JobStatus.DEAD.value,
            last_error=error,
            finished_at=now,
            lease_expires_at=None,
        )

    async def list_dead(self, *, limit: int) -> Sequence[Job]:
        """Dead jobs, most recently finished first."""
        result = await self._conn.execute(
            select(jobs)
            .where(jobs.c.status == JobStatus.DEAD.value)
            .order_by(jobs.c.finished_at.desc(), jobs.c.id.desc())
            .limit(limit)
        )
        return [_from_row(row) for row in result]

    async def revive(self, job_id: UUID, now: datetime, *, extra_attempts: int) -> Job | None:
        """Queue a dead job again; the attempt limit moves past the attempts already made."""
        return await self._updated(
            and_(jobs.c.id == job_id, jobs.c.status == JobStatus.DEAD.value),
            status=JobStatus.QUEUED.value,
            max_attempts=jobs.c.attempt + extra_attempts,
            run_after=now,
            finished_at=None,
            published_at=None,
        )

    async def claim_unpublished(self, now: datetime, *, limit: int) -> Sequence[UUID]:
        """SELECT ... FOR UPDATE SKIP LOCKED on Postgres; on SQLite, take the write lock first.

        Either way no worker can change a selected row before the relay has stamped it and
        committed: a job that fails at once waits to unpublish its retry until then, instead
        of having the stamp land on the retry and leave it unpublished for a reconcile.
        """
        statement = (
            select(jobs.c.id)
            .where(jobs.c.published_at.is_(None), claimable(now))
            .order_by(jobs.c.run_after, jobs.c.id)
            .limit(limit)
        )
        if self._conn.dialect.name == "postgresql":
            statement = statement.with_for_update(skip_locked=True)
        else:  # a write that changes nothing: SQLite's one write lock, held until commit
            await self._conn.execute(
                update(jobs).where(false()).values(published_at=jobs.c.published_at)
            )
        return list((await self._conn.execute(statement)).scalars())

    async def mark_published(self, job_ids: Sequence[UUID], now: datetime) -> None:
        """Stamp the rows the relay just published."""
        if job_ids:
            await self._conn.execute(
                update(jobs).where(jobs.c.id.in_(job_ids)).values(published_at=now)
            )

    async def unpublish_stale(self, *, published_before: datetime, lease_before: datetime) -> int:
        """One UPDATE: the relay will publish these again."""
        result = await self._conn.execute(
            update(jobs)
            .where(job_history.stale(published_before, lease_before))
            .values(published_at=None)
        )
        return int(result.rowcount)

    async def stale_published(
        self, *, published_before: datetime, lease_before: datetime, limit: int
    ) -> Sequence[UUID]:
        """The oldest stale publications, a bounded batch."""
        statement = (
            select(jobs.c.id)
            .where(job_history.stale(published_before, lease_before))
            .order_by(jobs.c.published_at, jobs.c.id)
            .limit(limit)
        )
        return list((await self._conn.execute(statement)).scalars())

    async def unpublish(self, job_ids: Sequence[UUID], *, published_before: datetime) -> int:
        """Clear `published_at` of those still published before then."""
        return await self._restamp(job_ids, published_before, None)

    async def confirm_published(
        self, job_ids: Sequence[UUID], *, published_before: datetime, now: datetime
    ) -> None:
        """Stamp `now` on those still published before then."""
        await self._restamp(job_ids, published_before, now)

    async def _restamp(
        self, job_ids: Sequence[UUID], published_before: datetime, stamp: datetime | None
    ) -> int:
        if not job_ids:
            return 0
        result = await self._conn.execute(
            update(jobs)
            .where(jobs.c.id.in_(job_ids), jobs.c.published_at < published_before)
            .values(published_at=stamp)
        )
        return int(result.rowcount)

    async def prune_finished(self, before: datetime, *, limit: int) -> int:
        """DELETE a batch the partial index of succeeded jobs finds, oldest first."""
        return await job_history.prune_finished(self._conn, before, limit)

    async def figures(self) -> JobFigures:
        """Index-only over the partial index of jobs not succeeded, under a short timeout."""
        return await job_history.figures(self._conn)
