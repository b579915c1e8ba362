"""Job metrics: attempts by type and outcome, run time and queue wait."""

from __future__ import annotations

from typing import TYPE_CHECKING

from market_ai.observability import metrics

if TYPE_CHECKING:
    from uuid import UUID

    from market_ai.domain.jobs import Job


class MetricsJobObserver:
    """Records each attempt: the wait from due to claim when it starts, the rest at its end."""

    def started(self, job: Job) -> None:
        """Queue wait: from when the job was due (enqueued, or its retry time) to its claim."""
        if job.started_at is not None:
            waited = (job.started_at - job.run_after).total_seconds()
            metrics.JOB_WAIT_SECONDS.labels(job.type).observe(max(waited, 0.0))

    def finished(self, job: Job, outcome: str, run_seconds: float) -> None:
        """One ended attempt."""
        metrics.JOBS.labels(job.type, outcome).inc()
        metrics.JOB_RUN_SECONDS.labels(job.type).observe(run_seconds)

    def died(self, job_id: UUID, job_type: str | None, error: str) -> None:  # noqa: ARG002
        """Counted by `finished` (outcome dead), except poison, which never ran to an end."""
        if job_type is None:
            metrics.JOBS.labels("unknown", "poisoned").inc()
