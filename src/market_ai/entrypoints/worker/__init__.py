"""The job worker: `run_worker(container, stop=...)`, in its own process or inside `serve`."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import TYPE_CHECKING

from market_ai.domain.job_execution import JobExecutor
from market_ai.domain.job_lease import LeaseTerms
from market_ai.domain.job_relay import JobRelay
from market_ai.domain.job_retention import Retention
from market_ai.domain.redaction import SecretRedactor
from market_ai.entrypoints.worker.observer import job_observer
from market_ai.entrypoints.worker.runtime import Worker, WorkerTimings, consumer_name
from market_ai.secret_values import secret_values

if TYPE_CHECKING:
    from market_ai.container import Container

__all__ = ["Worker", "WorkerTimings", "build_retention", "build_worker", "run_worker"]


def build_worker(
    container: Container, *, concurrency: int | None = None, consumer: str | None = None
) -> Worker:
    """Assemble a worker from the container's adapters and the job settings."""
    settings = container.settings()
    queue = container.job_queue()
    lease = settings.job_lease_seconds
    executor = JobExecutor(
        unit_of_work=container.unit_of_work,
        queue=queue,
        registry=container.job_registry(),
        clock=container.clock(),
        retry=container.retry_policy(),
        terms=LeaseTerms(lease_seconds=lease, max_deliveries=settings.job_max_deliveries),
        consumer=consumer or consumer_name(),
        redact=SecretRedactor(secret_values(settings)),
        observer=job_observer(settings),
    )
    republish_after = settings.job_republish_after_seconds
    relay = JobRelay(
        unit_of_work=container.unit_of_work,
        queue=queue,
        clock=container.clock(),
        republish_after=timedelta(seconds=republish_after),
        lease=timedelta(seconds=lease),
    )
    timings = WorkerTimings(
        lease_seconds=lease,
        grace_seconds=settings.worker_grace_seconds,
        reconcile_interval=min(5.0, republish_after / 2),
    )
    return Worker(
        executor=executor,
        relay=relay,
        queue=queue,
        concurrency=concurrency or settings.worker_concurrency,
        timings=timings,
        wakeup=container.job_wakeup(),
        volatile_queue=container.queue_backend() == "memory",
        retention=build_retention(container),
    )


def build_retention(container: Container) -> Retention:
    """Pruning of finished history after JOB_RETENTION_DAYS (the worker's and the CLI's)."""
    return Retention(
        unit_of_work=container.unit_of_work,
        ledger=container.spend_ledger(),
        clock=container.clock(),
        keep=timedelta(days=container.settings().job_retention_days),
    )


async def run_worker(
    container: Container,
    *,
    stop: asyncio.Event,
    concurrency: int | None = None,
    consumer: str | None = None,
) -> None:
    """Run jobs until `stop` is set, then drain within WORKER_GRACE_SECONDS and return.

    The container must be started (`market_ai.start`) and is left open for the caller.
    """
    worker = build_worker(container, concurrency=concurrency, consumer=consumer)
    await worker.run(stop)
