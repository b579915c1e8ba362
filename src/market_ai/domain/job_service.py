"""Job use cases: enqueue (inside the caller's unit of work), read, and the dead-letter desk."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final
from uuid import UUID, uuid4

from market_ai.domain.errors import Conflict, InvalidInput, NotFound
from market_ai.domain.job_registry import JobRegistry
from market_ai.domain.job_store import JobFigures
from market_ai.domain.jobs import (
    Job,
    JobStatus,
    UnknownJobType,
    check_idempotency_key,
    check_payload,
    check_type,
)
from market_ai.domain.ports import Clock, UnitOfWork, UnitOfWorkFactory
from market_ai.domain.request_ids import current_request_id

DEAD_LIST_MAX: Final = 1_000
SUBMIT_MANY_MAX: Final = 10_000
IDEMPOTENCY_KEY: Final = "Idempotency-Key"  # what a conflict on the key names as its field


class JobService:
    """Creates job rows and answers questions about them; workers run them elsewhere.

    `enqueue` writes through the caller's unit of work, so the job row commits (or not)
    together with the domain change that asked for it: the transactional outbox. The relay
    publishes committed rows; nothing here talks to the queue.
    """

    def __init__(
        self,
        unit_of_work: UnitOfWorkFactory,
        clock: Clock,
        registry: JobRegistry,
        *,
        max_attempts: int = 5,
        on_enqueued: Callable[[], None] | None = None,
    ) -> None:
        self._uow = unit_of_work
        self._clock = clock
        self._registry = registry
        self._max_attempts = max_attempts
        self._on_enqueued = on_enqueued

    async def enqueue(
        self,
        uow: UnitOfWork,
        owner_id: str,
        job_type: str,
        payload: Mapping[str, Any] | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> Job:
        """Stage a job in `uow`; the caller commits. A reused key returns the existing job."""
        job = self._new_job(owner_id, job_type, payload, idempotency_key)
        stored = await uow.jobs.add(job)
        if stored.id != job.id and stored.type != job_type:
            raise Conflict(
                f"idempotency key already used by job {stored.id} ({stored.type})",
                field=IDEMPOTENCY_KEY,
            )
        return stored

    async def enqueue_request(
        self,
        uow: UnitOfWork,
        owner_id: str,
        job_type: str,
        payload: Mapping[str, Any],
        *,
        idempotency_key: str | None = None,
    ) -> Job:
        """`enqueue` for an API request: a key reused for another request is a Conflict.

        `enqueue` returns the job that holds the key whatever it was asked to do; a request
        repeated with the same key must also ask for the same thing, or it is a client error.
        """
        job = await self.enqueue(uow, owner_id, job_type, payload, idempotency_key=idempotency_key)
        if dict(job.payload) != payload:
            raise Conflict(
                f"idempotency key already used by job {job.id} for another request",
                field=IDEMPOTENCY_KEY,
            )
        return job

    async def submit(
        self,
        owner_id: str,
        job_type: str,
        payload: Mapping[str, Any] | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> Job:
        """Enqueue in a unit of work of its own (no domain write goes with it)."""
        async with self._uow() as uow:
            job = await self.enqueue(
                uow, owner_id, job_type, payload, idempotency_key=idempotency_key
            )
            await uow.commit()
        self._notify()
        return job

    async def submit_many(
        self, owner_id: str, job_type: str, payloads: Sequence[Mapping[str, Any]]
    ) -> Sequence[Job]:
        """Enqueue many jobs in one transaction (operators, drills and benchmarks)."""
        if len(payloads) > SUBMIT_MANY_MAX:
            raise InvalidInput("count", f"must be at most {SUBMIT_MANY_MAX}")
        jobs = [self._new_job(owner_id, job_type, p, None) for p in payloads]
        async with self._uow() as uow:
            stored = await uow.jobs.add_many(jobs)
            await uow.commit()
        self._notify()
        return stored

    def _new_job(
        self,
        owner_id: str,
        job_type: str,
        payload: Mapping[str, Any] | None,
        idempotency_key: str | None,
    ) -> Job:
        """A queued job, due now, after the checks every way of enqueueing shares."""
        check_type(job_type)
        if job_type not in self._registry:
            raise UnknownJobType(job_type)
        now = self._clock.now()
        return Job(
            id=uuid4(),
            owner_id=owner_id,
            type=job_type,
            payload=check_payload(payload),
            status=JobStatus.QUEUED,
            attempt=0,
            max_attempts=self._max_attempts,
            created_at=now,
            run_after=now,
            idempotency_key=check_idempotency_key(idempotency_key),
            request_id=current_request_id(),
        )

    async def get(self, owner_id: str, job_id: UUID) -> Job:
        """The owner's job; someone else's reads as absent."""
        async with self._uow() as uow:
            job = await uow.jobs.get(job_id)
        if job is None or job.owner_id != owner_id:
            raise NotFound("job not found")
        return job

    async def list_dead(self, *, limit: int = 100) -> Sequence[Job]:
        """Dead jobs for an operator, most recently died first."""
        if not 1 <= limit <= DEAD_LIST_MAX:
            raise InvalidInput("limit", f"must be between 1 and {DEAD_LIST_MAX}")
        async with self._uow() as uow:
            return await uow.jobs.list_dead(limit=limit)

    async def retry_dead(self, job_id: UUID) -> Job:
        """Queue a dead job again with a fresh allowance of attempts."""
        async with self._uow() as uow:
            job = await uow.jobs.revive(
                job_id, self._clock.now(), extra_attempts=self._max_attempts
            )
            if job is None:
                existing = await uow.jobs.get(job_id)
                if existing is None:
                    raise NotFound("job not found")
                raise Conflict(f"job {job_id} is {existing.status}, not dead")
            await uow.commit()
        self._notify()
        return job

    async def figures(self) -> JobFigures:
        """Queue depth and friends, from the rows (the truth), for health reports."""
        async with self._uow() as uow:
            return await uow.jobs.figures()

    def notify(self) -> None:
        """Wake the relay: for use cases that committed `enqueue` in their own unit of work."""
        self._notify()

    def _notify(self) -> None:
        if self._on_enqueued is not None:
            self._on_enqueued()
