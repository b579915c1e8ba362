"""Job types for the chaos tests, loaded by `market-ai worker` through JOB_HANDLER_MODULES.

`record` writes its effect the way a real handler must: idempotently, keyed by job id
(`chaos_effects`, one row per job at most), and it also appends every execution to
`chaos_runs` (no unique key), so a test sees re-executions apart from effects. `crash`
kills its own worker with SIGKILL, every time. Both write to the Postgres database named
by CHAOS_DATABASE_URL (a plain libpq URL); `prepare` creates their tables.
"""

from __future__ import annotations

import asyncio
import os
import signal
from typing import Final

import psycopg

from market_ai.domain.job_registry import JobRegistry, JobResult
from market_ai.domain.jobs import JobContext

URL_VARIABLE: Final = "CHAOS_DATABASE_URL"
TABLES: Final = (
    (
        "CREATE TABLE IF NOT EXISTS chaos_effects ("
        " job_id uuid PRIMARY KEY, attempt int NOT NULL, pid int NOT NULL,"
        " at timestamptz NOT NULL DEFAULT clock_timestamp())"
    ),
    (
        "CREATE TABLE IF NOT EXISTS chaos_runs ("
        " job_id uuid NOT NULL, attempt int NOT NULL, pid int NOT NULL,"
        " at timestamptz NOT NULL DEFAULT clock_timestamp())"
    ),
)
RUN = "INSERT INTO chaos_runs (job_id, attempt, pid) VALUES (%s, %s, %s)"
EFFECT = (
    "INSERT INTO chaos_effects (job_id, attempt, pid) VALUES (%s, %s, %s)"
    " ON CONFLICT (job_id) DO NOTHING"
)


def prepare(url: str) -> None:
    """Create the tables the handlers write to (in the test's own database)."""
    with psycopg.connect(url, autocommit=True) as conn:
        for statement in TABLES:
            conn.execute(statement)


async def _connect() -> psycopg.AsyncConnection[tuple[object, ...]]:
    return await psycopg.AsyncConnection.connect(os.environ[URL_VARIABLE], autocommit=True)


async def record(ctx: JobContext) -> JobResult:
    """Log the execution, take payload["seconds"], then write the effect once per job id."""
    key = (ctx.job_id, ctx.attempt, os.getpid())
    async with await _connect() as conn:
        await conn.execute(RUN, key)
        if seconds := float(ctx.payload.get("seconds", 0)):
            await asyncio.sleep(seconds)
        written = (await conn.execute(EFFECT, key)).rowcount == 1
    return {"attempt": ctx.attempt, "written": written}


async def crash(ctx: JobContext) -> JobResult:
    """Log the execution, then die as an out-of-memory kill would: no cleanup, no hand-back."""
    async with await _connect() as conn:
        await conn.execute(RUN, (ctx.job_id, ctx.attempt, os.getpid()))
    os.kill(os.getpid(), signal.SIGKILL)
    return None  # pragma: no cover - the process is gone


def register(registry: JobRegistry) -> None:
    """The JOB_HANDLER_MODULES hook."""
    registry.register("record", record)
    registry.register("crash", crash)
