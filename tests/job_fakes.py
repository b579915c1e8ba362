"""Job handlers for tests: they record every run, and fail or stall on purpose.

Also a JOB_HANDLER_MODULES module: `register(registry)` adds `record`, `flaky` and `sleep`
job types to a `market-ai worker` started by a test, recording runs in $JOB_RECORD_FILE.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import UUID

from market_ai.domain.job_registry import JobRegistry, JobResult
from market_ai.domain.jobs import JobContext, PermanentJobError


@dataclass
class RecordingHandler:
    """Records (job id, attempt) at start and at finish, and returns a result saying so.

    `fail_attempts`: attempts (1-based) that raise RuntimeError. `permanent`: every attempt
    raises PermanentJobError. `stall_attempts`: attempts that wait for `release` (set it to
    let them finish); `seconds`: how long every attempt takes.
    """

    fail_attempts: set[int] = field(default_factory=set)
    permanent: bool = False
    stall_attempts: set[int] = field(default_factory=set)
    seconds: float = 0.0
    started: list[tuple[UUID, int]] = field(default_factory=list)
    finished: list[tuple[UUID, int]] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    running: asyncio.Event = field(default_factory=asyncio.Event)

    async def __call__(self, ctx: JobContext) -> JobResult:
        self.started.append((ctx.job_id, ctx.attempt))
        self.running.set()
        if self.permanent:
            raise PermanentJobError("this payload can never work")
        if ctx.attempt in self.fail_attempts:
            raise RuntimeError(f"attempt {ctx.attempt} failed on purpose")
        if ctx.attempt in self.stall_attempts:
            await self.release.wait()
        if self.seconds:
            await asyncio.sleep(self.seconds)
        self.finished.append((ctx.job_id, ctx.attempt))
        return {"attempt": ctx.attempt, "payload": dict(ctx.payload)}

    def finished_ids(self) -> list[UUID]:
        """Job ids in the order their attempts finished."""
        return [job_id for job_id, _ in self.finished]


def registry_with(**handlers: Any) -> JobRegistry:
    """A registry holding exactly these handlers, by job type."""
    registry = JobRegistry()
    for job_type, handler in handlers.items():
        registry.register(job_type, handler)
    return registry


def _record(event: str, ctx: JobContext) -> None:
    path = os.environ.get("JOB_RECORD_FILE")
    if path:
        line = {
            "event": event,
            "job_id": str(ctx.job_id),
            "attempt": ctx.attempt,
            "pid": os.getpid(),
        }
        with Path(path).open("a", encoding="utf-8") as out:
            out.write(json.dumps(line) + "\n")


async def _recorded(ctx: JobContext, seconds: float) -> Mapping[str, Any]:
    _record("start", ctx)
    if seconds:
        await asyncio.sleep(seconds)
    _record("finish", ctx)
    return {"attempt": ctx.attempt, "pid": os.getpid()}


async def record(ctx: JobContext) -> JobResult:
    """Records start and finish; payload `seconds` makes it take that long."""
    return await _recorded(ctx, float(ctx.payload.get("seconds", 0)))


async def flaky(ctx: JobContext) -> JobResult:
    """Fails while attempt <= payload `fail_times`, then records like `record`."""
    _record("attempt", ctx)
    if ctx.attempt <= int(ctx.payload.get("fail_times", 1)):
        raise RuntimeError(f"attempt {ctx.attempt} failed on purpose")
    return await _recorded(ctx, 0.0)


def register(registry: JobRegistry) -> None:
    """JOB_HANDLER_MODULES=tests.job_fakes adds these to a worker's registry."""
    registry.register("record", record)
    registry.register("flaky", flaky)
