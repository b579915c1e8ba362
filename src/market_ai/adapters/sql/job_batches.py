"""The workers' batched claims and finishes, the hot path of every job, per dialect.

On Postgres the ids travel as arrays, so each statement's text is the same whatever the
batch size: psycopg prepares it once and SQLAlchemy compiles it once, where an IN list
would be a new statement for every batch size. SQLite (the embedded default, one worker)
takes the portable forms.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import Uuid, and_, any_, bindparam, or_, select, text, tuple_, update
from sqlalchemy.dialects import postgresql

from market_ai.adapters.sql.tables import jobs
from market_ai.adapters.sql.types import UtcDateTime
from market_ai.domain.jobs import WAITING, JobStatus

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime
    from uuid import UUID

    from sqlalchemy import ColumnElement, Row
    from sqlalchemy.ext.asyncio import AsyncConnection

    from market_ai.domain.job_store import Finished

WAITING_VALUES: Final = sorted(status.value for status in WAITING)
RUNNING: Final = JobStatus.RUNNING.value
_SUCCEEDED = JobStatus.SUCCEEDED.value

_now = bindparam("now", type_=UtcDateTime())
_lease_until = bindparam("lease_until", type_=UtcDateTime())


def claimable(now: ColumnElement[Any] | datetime) -> ColumnElement[bool]:
    """`Job.claimable` in SQL: due and waiting, or running on an expired lease."""
    return or_(
        and_(jobs.c.status.in_(WAITING_VALUES), jobs.c.run_after <= now),
        and_(jobs.c.status == RUNNING, jobs.c.lease_expires_at < now),
    )


def _claim(ids: ColumnElement[bool], *, skip_locked: bool) -> Any:
    """UPDATE the rows a sub-select picks (and, on Postgres, locks without waiting)."""
    free = select(jobs.c.id).where(ids, claimable(_now))
    if skip_locked:
        free = free.with_for_update(skip_locked=True)
    return (
        update(jobs)
        .where(jobs.c.id.in_(free.scalar_subquery()), claimable(_now))
        .values(
            status=RUNNING,
            attempt=jobs.c.attempt + 1,
            started_at=_now,
            finished_at=None,
            lease_expires_at=_lease_until,
        )
        .returning(*jobs.c)
    )


_CLAIM_PG: Final = _claim(
    jobs.c.id == any_(bindparam("ids", type_=postgresql.ARRAY(Uuid()))), skip_locked=True
)
_CLAIM_PORTABLE: Final = _claim(jobs.c.id.in_(bindparam("ids", expanding=True)), skip_locked=False)

# One statement for the whole batch, each row fenced by its own attempt.
_SUCCEED_PG: Final = text(
    """
    UPDATE jobs SET status = :succeeded, result = done.result, last_error = NULL,
           finished_at = :now, lease_expires_at = NULL
    FROM unnest(CAST(:ids AS uuid[]), CAST(:attempts AS integer[]), CAST(:results AS json[]))
         AS done (id, attempt, result)
    WHERE jobs.id = done.id AND jobs.attempt = done.attempt AND jobs.status = :running
    RETURNING jobs.id
    """
).bindparams(
    bindparam("now", type_=UtcDateTime()),
    bindparam("ids", type_=postgresql.ARRAY(Uuid())),
)


async def start_many(
    conn: AsyncConnection, job_ids: Sequence[UUID], now: datetime, lease_until: datetime
) -> Sequence[Row[Any]]:
    """Claim whichever of `job_ids` are claimable; on Postgres, skip rows others hold."""
    statement = _CLAIM_PG if conn.dialect.name == "postgresql" else _CLAIM_PORTABLE
    params = {"ids": list(job_ids), "now": now, "lease_until": lease_until}
    return list(await conn.execute(statement, params))


async def succeed_many(
    conn: AsyncConnection, finished: Sequence[Finished], now: datetime
) -> set[UUID]:
    """Finish each attempt that still runs; returns the ids that moved."""
    if conn.dialect.name == "postgresql":
        params = {
            "ids": [item.job_id for item in finished],
            "attempts": [item.attempt for item in finished],
            "results": [
                None if item.result is None else json.dumps(item.result) for item in finished
            ],
            "now": now,
            "succeeded": _SUCCEEDED,
            "running": RUNNING,
        }
        return set((await conn.execute(_SUCCEED_PG, params)).scalars())
    return await _succeed_grouped(conn, finished, now)


async def _succeed_grouped(
    conn: AsyncConnection, finished: Sequence[Finished], now: datetime
) -> set[UUID]:
    """Portable: one fenced UPDATE per distinct result (no-op jobs share one)."""
    by_result: dict[str, list[Finished]] = defaultdict(list)
    for item in finished:
        by_result[json.dumps(item.result, sort_keys=True)].append(item)
    moved: set[UUID] = set()
    for group in by_result.values():
        result = group[0].result
        statement = (
            update(jobs)
            .where(
                tuple_(jobs.c.id, jobs.c.attempt).in_([(f.job_id, f.attempt) for f in group]),
                jobs.c.status == RUNNING,
            )
            .values(
                status=_SUCCEEDED,
                result=None if result is None else dict(result),
                last_error=None,
                finished_at=now,
                lease_expires_at=None,
            )
            .returning(jobs.c.id)
        )
        moved.update((await conn.execute(statement)).scalars())
    return moved
