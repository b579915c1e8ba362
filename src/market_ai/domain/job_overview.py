"""Jobs at a glance for health reports: rows from the database, liveness from the queue."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from market_ai.domain.job_queue import JobQueue
    from market_ai.domain.job_service import JobService
    from market_ai.domain.ports import Clock


@dataclass(frozen=True, slots=True)
class JobOverview:
    """Queue depth, the oldest waiting job's age, running and dead jobs, live workers, counters.

    Depth and ages come from the rows (the truth); live workers and counters from the
    queue, where workers report them.
    """

    queued: int
    retrying: int
    running: int
    dead: int
    oldest_queued_age_seconds: float | None
    live_workers: int
    counters: Mapping[str, int]


class JobMonitor:
    """Gathers a JobOverview, asking the database and the queue at once."""

    def __init__(self, jobs: JobService, queue: JobQueue, clock: Clock) -> None:
        self._jobs = jobs
        self._queue = queue
        self._clock = clock

    async def overview(self) -> JobOverview:
        """One overview; raises when the database or the queue cannot answer."""
        figures, live, counters = await asyncio.gather(
            self._jobs.figures(), self._queue.live_workers(), self._queue.counters()
        )
        oldest = figures.oldest_queued_at
        age = None if oldest is None else max((self._clock.now() - oldest).total_seconds(), 0.0)
        return JobOverview(
            queued=figures.queued,
            retrying=figures.retrying,
            running=figures.running,
            dead=figures.dead,
            oldest_queued_age_seconds=None if age is None else round(age, 3),
            live_workers=live,
            counters=dict(counters),
        )
