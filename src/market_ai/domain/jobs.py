"""Jobs: the record the database keeps of each piece of background work, and its rules."""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Final
from uuid import UUID

from market_ai.domain.errors import InvalidInput

JOB_TYPE_MAX: Final = 64
IDEMPOTENCY_KEY_MAX: Final = 200
ERROR_MAX: Final = 2_000  # a traceback's last line is what an operator needs; keep rows small
PAYLOAD_MAX_BYTES: Final = 64 * 1024  # the row carries intent and references, not documents


class JobStatus(StrEnum):
    """Where a job is in its life.

    `failed` means an attempt failed and a retry is scheduled (`run_after`); `dead` is
    terminal until an operator retries it.
    """

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    DEAD = "dead"


WAITING: Final = frozenset({JobStatus.QUEUED, JobStatus.FAILED})
FINISHED: Final = frozenset({JobStatus.SUCCEEDED, JobStatus.DEAD})


@dataclass(frozen=True, slots=True)
class Job:
    """One job's row. `attempt` counts starts and is the fencing token of the current one.

    `run_after`, `lease_expires_at` and `published_at` are the outbox's bookkeeping: when a
    retry may start, until when the running attempt owns the job, and when the relay last
    handed the id to the queue (None: not yet, or to be published again).
    """

    id: UUID
    owner_id: str
    type: str
    payload: Mapping[str, Any]
    status: JobStatus
    attempt: int
    max_attempts: int
    created_at: datetime
    run_after: datetime
    last_error: str | None = None
    result: Mapping[str, Any] | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    idempotency_key: str | None = None
    lease_expires_at: datetime | None = None
    published_at: datetime | None = None
    request_id: str | None = None  # of the request (or command) that enqueued it

    def claimable(self, now: datetime) -> bool:
        """Whether a worker may start it now: due and waiting, or running on an expired lease."""
        if self.status in WAITING:
            return self.run_after <= now
        return (
            self.status is JobStatus.RUNNING
            and self.lease_expires_at is not None
            and self.lease_expires_at < now
        )


@dataclass(frozen=True, slots=True)
class JobContext:
    """What a handler gets: the job id and attempt let it make its effects idempotent."""

    job_id: UUID
    attempt: int
    owner_id: str
    type: str
    payload: Mapping[str, Any] = field(default_factory=dict)
    request_id: str | None = None


class PermanentJobError(Exception):
    """Raised by a handler when retrying cannot help (bad payload, a refused request): dead now."""


class UnknownJobType(InvalidInput):
    """No handler is registered for this job type."""

    def __init__(self, job_type: str) -> None:
        super().__init__("type", f"unknown job type {job_type!r}")
        self.job_type = job_type


def check_type(job_type: str) -> str:
    """Job types are short snake_case names, so they fit the column and read well in logs."""
    if not job_type or len(job_type) > JOB_TYPE_MAX:
        raise InvalidInput("type", f"must have between 1 and {JOB_TYPE_MAX} characters")
    if not all(c.islower() or c.isdigit() or c == "_" for c in job_type):
        raise InvalidInput("type", "must use lowercase letters, digits and underscores")
    return job_type


def check_idempotency_key(key: str | None) -> str | None:
    """Keys are opaque, but bounded and non-blank, so the unique index stays cheap."""
    if key is None:
        return None
    if not key.strip() or len(key) > IDEMPOTENCY_KEY_MAX:
        raise InvalidInput("idempotency_key", f"must have 1 to {IDEMPOTENCY_KEY_MAX} characters")
    return key


def check_payload(payload: Mapping[str, Any] | None) -> dict[str, Any]:
    """Payloads are JSON objects of bounded size: they are stored in the row and logged."""
    try:
        encoded = json.dumps(dict(payload or {}), allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError) as error:
        raise InvalidInput("payload", f"must be JSON: {error}") from None
    if len(encoded.encode()) > PAYLOAD_MAX_BYTES:
        raise InvalidInput("payload", f"must encode to at most {PAYLOAD_MAX_BYTES} bytes")
    loaded: dict[str, Any] = json.loads(encoded)  # what a reader of the row will get back
    return loaded


def check_result(result: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Results are stored as JSON; a handler returning anything else has a bug (permanent)."""
    if result is None:
        return None
    try:
        loaded: dict[str, Any] = json.loads(json.dumps(dict(result), allow_nan=False))
    except (TypeError, ValueError) as error:
        raise PermanentJobError(f"the handler's result is not JSON: {error}") from error
    return loaded


def describe_error(error: BaseException, redact: Callable[[str], str] | None = None) -> str:
    """One bounded line for `last_error`: the type and message, never a whole traceback.

    `redact` masks secrets before the line is cut, so a cut cannot leave half a key behind.
    """
    message = str(error).strip().splitlines()
    text = f"{type(error).__name__}: {message[0]}" if message else type(error).__name__
    return (text if redact is None else redact(text))[:ERROR_MAX]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff with full jitter: retries of many failed jobs spread out in time.

    The ceiling for attempt n is min(cap, base * 2**(n-1)); the delay is drawn uniformly below
    it, so jobs that failed together (an outage) do not come back together. `rand` is
    injectable so tests can pin the draw.
    """

    base_seconds: float = 2.0
    cap_seconds: float = 300.0
    rand: Callable[[], float] = field(default=random.random, repr=False)

    def ceiling(self, attempt: int) -> float:
        """The longest delay after the `attempt`-th failure."""
        exponent = min(max(attempt - 1, 0), 62)  # 2**62 already dwarfs any cap
        return float(min(self.cap_seconds, self.base_seconds * 2**exponent))

    def delay(self, attempt: int) -> timedelta:
        """How long to wait before the next attempt after the `attempt`-th failure."""
        return timedelta(seconds=self.rand() * self.ceiling(attempt))
