"""The job-type registry: a new kind of background work is one handler registered here."""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from typing import Any, Final, Protocol

from market_ai.domain.jobs import JobContext, UnknownJobType, check_type

JobResult = Mapping[str, Any] | None
JobHandler = Callable[[JobContext], Awaitable[JobResult]]

GENERATE_CONTENT: Final = "generate_content"
ANALYZE_CAMPAIGN: Final = "analyze_campaign"
SEND_EMAIL: Final = "send_email"
NOOP: Final = "noop"


class JobRegistry:
    """Maps a job type to its handler.

    Handlers must tolerate running again for the same job id (at-least-once delivery):
    `JobContext.job_id` is the key to make their effects idempotent.
    """

    def __init__(self) -> None:
        self._handlers: dict[str, JobHandler] = {}

    def register(self, job_type: str, handler: JobHandler, *, replace: bool = False) -> None:
        """Add a handler; registering a type twice is a mistake unless `replace` says so."""
        check_type(job_type)
        if job_type in self._handlers and not replace:
            raise ValueError(f"job type {job_type!r} is already registered")
        self._handlers[job_type] = handler

    def handler(self, job_type: str) -> JobHandler:
        """The handler for `job_type`; UnknownJobType when there is none."""
        try:
            return self._handlers[job_type]
        except KeyError:
            raise UnknownJobType(job_type) from None

    def __contains__(self, job_type: object) -> bool:
        return job_type in self._handlers

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._handlers))


async def noop(ctx: JobContext) -> JobResult:
    """Does nothing and says which attempt ran: for smoke tests, benchmarks and drills."""
    return {"job_id": str(ctx.job_id), "attempt": ctx.attempt}


async def acknowledge(ctx: JobContext) -> JobResult:
    """Stands in for the content, analysis and email handlers until they are built.

    It finishes the job with a result that echoes the payload and says no work was done, so
    the job system (outbox, leases, retries, dead letters) is exercised end to end.
    """
    return {
        "placeholder": True,
        "type": ctx.type,
        "attempt": ctx.attempt,
        "echo": dict(ctx.payload),
    }


class JobRunner(Protocol):
    """A use case that runs one job type (its `run` is the handler)."""

    async def run(self, ctx: JobContext) -> JobResult:
        """Do the job's work; idempotent by `ctx.job_id`."""
        ...


def run_by(make: Callable[[], JobRunner]) -> JobHandler:
    """A handler that builds its service per job.

    Services enqueue through JobService, which needs the registry: building them lazily
    lets the registry exist first, with no cycle in the composition root.
    """

    async def handle(ctx: JobContext) -> JobResult:
        return await make().run(ctx)

    return handle


def default_registry(
    extra_modules: Sequence[str] = (), handlers: Mapping[str, JobHandler] | None = None
) -> JobRegistry:
    """The job types this release knows, plus those of `extra_modules` (JOB_HANDLER_MODULES).

    `handlers` (the container's) replace the placeholder of their type. Each extra module
    defines `register(registry)`; that is how a deployment (or a drill that needs a
    recording handler) adds job types to `market-ai worker` without forking.
    """
    registry = JobRegistry()
    registry.register(NOOP, noop)
    for job_type in (GENERATE_CONTENT, ANALYZE_CAMPAIGN, SEND_EMAIL):
        registry.register(job_type, acknowledge)
    for job_type, handler in (handlers or {}).items():
        registry.register(job_type, handler, replace=True)
    for name in extra_modules:
        register: Callable[[JobRegistry], None] | None = getattr(
            importlib.import_module(name), "register", None
        )
        if register is None:
            raise ValueError(f"job handler module {name!r} has no register(registry) function")
        register(registry)
    return registry
