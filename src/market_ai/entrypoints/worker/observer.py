"""What the worker tells operators about each job: log context, metrics, error reports."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import structlog

from market_ai.domain.request_ids import bind_request_id

if TYPE_CHECKING:
    from uuid import UUID

    from market_ai.domain.job_observer import JobObserver
    from market_ai.domain.jobs import Job
    from market_ai.settings import Settings

log = structlog.get_logger(__name__)


class JobLogContext:
    """Binds the job's request id, id and type to every line logged while it runs.

    Each attempt runs in a task of its own, so the binding ends with the task; the domain's
    request id is bound too, so a job the handler enqueues carries the same id.
    """

    def started(self, job: Job) -> None:
        """Bind before the handler starts: its task copies this context."""
        bind_request_id(job.request_id)
        values = {"job_id": str(job.id), "job_type": job.type}
        if job.request_id:
            values["request_id"] = job.request_id
        structlog.contextvars.bind_contextvars(**values)

    def finished(self, job: Job, outcome: str, run_seconds: float) -> None:
        """Nothing to add: the executor logs outcomes."""

    def died(self, job_id: UUID, job_type: str | None, error: str) -> None:
        """Nothing to add: the executor logs deaths."""


class JobObservers:
    """Tells each observer in turn; one that fails is logged and never stops a job."""

    def __init__(self, observers: Sequence[JobObserver]) -> None:
        self._observers = tuple(observers)

    def started(self, job: Job) -> None:
        """Fan out."""
        for observer in self._observers:
            _safely(observer.started, job)

    def finished(self, job: Job, outcome: str, run_seconds: float) -> None:
        """Fan out."""
        for observer in self._observers:
            _safely(observer.finished, job, outcome, run_seconds)

    def died(self, job_id: UUID, job_type: str | None, error: str) -> None:
        """Fan out."""
        for observer in self._observers:
            _safely(observer.died, job_id, job_type, error)


def _safely(call: object, *args: object) -> None:
    try:
        call(*args)  # type: ignore[operator]
    except Exception:
        log.exception("worker.observer_failed", observer=repr(call))


def job_observer(settings: Settings) -> JobObserver:
    """Log context always; metrics and Sentry when configured (imported only then)."""
    observers: list[JobObserver] = [JobLogContext()]
    if settings.metrics_on:
        from market_ai.observability.job_metrics import MetricsJobObserver  # noqa: PLC0415

        observers.append(MetricsJobObserver())
    if settings.sentry_dsn is not None:
        from market_ai.observability.sentry import SentryJobObserver  # noqa: PLC0415

        observers.append(SentryJobObserver())
    return JobObservers(observers)
