"""Wire model of a job: the record a client polls, without the queue's bookkeeping."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec
from litestar import Response

from market_ai.domain.jobs import Job, JobStatus


class JobOut(msgspec.Struct):
    """A job as its owner sees it. `retry_at` is set while a failed attempt waits to retry."""

    id: UUID
    type: str
    status: JobStatus
    attempt: int
    max_attempts: int
    payload: dict[str, Any]
    result: dict[str, Any] | None
    last_error: str | None
    idempotency_key: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    retry_at: datetime | None
    request_id: str | None  # the X-Request-ID of the request that enqueued it

    @classmethod
    def of(cls, job: Job) -> JobOut:
        """Leases and publication times stay inside: they are transport, not the job."""
        return cls(
            id=job.id,
            type=job.type,
            status=job.status,
            attempt=job.attempt,
            max_attempts=job.max_attempts,
            payload=dict(job.payload),
            result=None if job.result is None else dict(job.result),
            last_error=job.last_error,
            idempotency_key=job.idempotency_key,
            created_at=job.created_at,
            started_at=job.started_at,
            finished_at=job.finished_at,
            retry_at=job.run_after if job.status is JobStatus.FAILED else None,
            request_id=job.request_id,
        )


def job_location(job: Job) -> str:
    """Where the job's record is read."""
    return f"/api/jobs/{job.id}"


def accepted(job: Job) -> Response[JobOut]:
    """202 Accepted with the job itself (as `GET Location` shows it) and a Location to poll."""
    return Response(JobOut.of(job), status_code=202, headers={"Location": job_location(job)})
