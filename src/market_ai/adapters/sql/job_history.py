"""The job store's history queries: staleness for the reconciler, health figures, retention.

Each leans on a partial index, so its cost follows the unfinished jobs (or the batch asked
for), never the whole finished history.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from sqlalchemy import and_, delete, func, or_, select, text

from market_ai.adapters.sql.job_batches import RUNNING, WAITING_VALUES
from market_ai.adapters.sql.tables import jobs
from market_ai.domain.job_store import JobFigures
from market_ai.domain.jobs import JobStatus

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy import ColumnElement
    from sqlalchemy.ext.asyncio import AsyncConnection

FIGURES_TIMEOUT_MS: Final = 1000  # health figures must answer fast or not at all


def stale(published_before: datetime, lease_before: datetime) -> ColumnElement[bool]:
    """Waiting and published before `published_before`, or running on a lease long over.

    A running job counts whenever it was published: its worker died, so only the lease says when.
    """
    return or_(
        and_(jobs.c.published_at < published_before, jobs.c.status.in_(WAITING_VALUES)),
        and_(
            jobs.c.published_at.is_not(None),
            jobs.c.status == RUNNING,
            jobs.c.lease_expires_at < lease_before,
        ),
    )


async def prune_finished(conn: AsyncConnection, before: datetime, limit: int) -> int:
    """DELETE a batch the partial index of succeeded jobs finds, oldest first."""
    succeeded = text("status = 'succeeded'")  # ix_jobs_succeeded_finished's predicate
    batch = (
        select(jobs.c.id)
        .where(succeeded, jobs.c.finished_at < before)
        .order_by(jobs.c.finished_at)
        .limit(limit)
    )
    result = await conn.execute(
        delete(jobs).where(jobs.c.id.in_(batch.scalar_subquery()), succeeded)
    )
    return int(result.rowcount)


async def figures(conn: AsyncConnection) -> JobFigures:
    """Index-only over the partial index of jobs not succeeded, under a short timeout.

    The predicate is the index's own, text for text, so the planner uses it: the cost
    follows the unfinished jobs, never the finished history.
    """
    if conn.dialect.name == "postgresql":
        await conn.execute(text(f"SET LOCAL statement_timeout = {FIGURES_TIMEOUT_MS}"))
    rows = await conn.execute(
        select(jobs.c.status, func.count(), func.min(jobs.c.run_after))
        .where(text("status <> 'succeeded'"))  # ix_jobs_unfinished_status_run_after's
        .group_by(jobs.c.status)
    )
    counts: dict[str, int] = {}
    oldest: datetime | None = None
    for status, count, first_due in rows:
        counts[status] = count
        if status == JobStatus.QUEUED.value:
            oldest = first_due
    return JobFigures(
        queued=counts.get(JobStatus.QUEUED.value, 0),
        retrying=counts.get(JobStatus.FAILED.value, 0),
        running=counts.get(RUNNING, 0),
        dead=counts.get(JobStatus.DEAD.value, 0),
        oldest_queued_at=oldest,
    )
