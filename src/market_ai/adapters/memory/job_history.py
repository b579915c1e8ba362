"""The in-memory job store's history queries: staleness, health figures, retention."""

from __future__ import annotations

from typing import TYPE_CHECKING

from market_ai.domain.job_store import JobFigures
from market_ai.domain.jobs import WAITING, Job, JobStatus

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime


def stale(job: Job, published_before: datetime, lease_before: datetime) -> bool:
    """Waiting and published before `published_before`, or running on a lease long over.

    A running job counts whenever it was published: its worker died, so only the lease says when.
    """
    if job.published_at is None:
        return False
    if job.status is JobStatus.RUNNING:
        return job.lease_expires_at is not None and job.lease_expires_at < lease_before
    return job.status in WAITING and job.published_at < published_before


def prunable(jobs: Sequence[Job], before: datetime) -> list[Job]:
    """Succeeded jobs finished before `before`, oldest first."""
    old = [
        job
        for job in jobs
        if job.status is JobStatus.SUCCEEDED
        and job.finished_at is not None
        and job.finished_at < before
    ]
    old.sort(key=lambda job: (job.finished_at, job.id.bytes))
    return old


def figures(jobs: Sequence[Job]) -> JobFigures:
    """Counts over these rows."""
    queued = [job for job in jobs if job.status is JobStatus.QUEUED]
    return JobFigures(
        queued=len(queued),
        retrying=sum(job.status is JobStatus.FAILED for job in jobs),
        running=sum(job.status is JobStatus.RUNNING for job in jobs),
        dead=sum(job.status is JobStatus.DEAD for job in jobs),
        oldest_queued_at=min((job.run_after for job in queued), default=None),
    )
