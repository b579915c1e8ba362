"""The JobObserver port: what operators watch while jobs run (logs, metrics, error reports)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from uuid import UUID

    from market_ai.domain.jobs import Job


class JobObserver(Protocol):
    """Told of each attempt by the executor; must not raise and must not block.

    `started` is called in the task that runs the attempt, before the handler starts, so
    what it binds to the task's context (a request id, a job id) reaches every line the
    handler logs.
    """

    def started(self, job: Job) -> None:
        """A claimed attempt is about to run."""
        ...

    def finished(self, job: Job, outcome: str, run_seconds: float) -> None:
        """The attempt ended: succeeded, retrying, dead or fenced_out."""
        ...

    def died(self, job_id: UUID, job_type: str | None, error: str) -> None:
        """The job went dead (attempts spent, a permanent error, or poison)."""
        ...


class QuietJobObserver:
    """Watches nothing: the executor's default, so it never asks whether one is there."""

    def started(self, job: Job) -> None:
        """Nothing to do."""

    def finished(self, job: Job, outcome: str, run_seconds: float) -> None:
        """Nothing to do."""

    def died(self, job_id: UUID, job_type: str | None, error: str) -> None:
        """Nothing to do."""
