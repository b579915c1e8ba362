"""The embedded worker: without REDIS_URL, `serve` runs jobs in its own process."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import structlog

from market_ai.entrypoints.worker import run_worker

if TYPE_CHECKING:
    from market_ai.container import Container
    from market_ai.settings import Settings

log = structlog.get_logger(__name__)


def runs_embedded(settings: Settings) -> bool:
    """No Redis means no separate workers to hand jobs to: this process runs them.

    WORKER_EMBEDDED=false turns it off (an API instance that must never run jobs, or tests).
    """
    return settings.worker_embedded and settings.redis_url is None


@contextlib.asynccontextmanager
async def embedded_worker(container: Container) -> AsyncIterator[None]:
    """Run the worker as a background task of the serve process while the block runs.

    The guarantees are the same: jobs are rows in the database, so a restart of this
    process loses none (the worker republishes them when it starts again).
    """
    if not runs_embedded(container.settings()):
        yield
        return
    stop = asyncio.Event()
    task = asyncio.create_task(run_worker(container, stop=stop))
    try:
        yield
    finally:
        stop.set()
        try:
            await task
        except Exception:
            log.exception("worker.embedded_failed")
