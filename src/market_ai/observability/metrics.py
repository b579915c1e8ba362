"""The Prometheus metrics of a market-ai process, and their text exposition.

Importing this module imports prometheus-client: only processes with metrics on do it. With
PROMETHEUS_MULTIPROC_DIR set (by `market-ai serve`), every process writes its samples there
and a scrape of any one of them sums the instance's processes.
"""

from __future__ import annotations

import atexit
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Final

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric

from market_ai.observability.metrics_dir import ENV

if TYPE_CHECKING:
    from market_ai.domain.job_overview import JobOverview
    from market_ai.domain.spend import Usage

CONTENT_TYPE: Final = CONTENT_TYPE_LATEST
_LATENCY: Final = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_JOB_SECONDS: Final = (0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 15.0, 30.0, 60.0, 300.0, 900.0)

HTTP_REQUESTS = Counter(
    "market_ai_http_requests_total",
    "HTTP requests answered, by route template, method and status.",
    ["route", "method", "status"],
)
HTTP_SECONDS = Histogram(
    "market_ai_http_request_duration_seconds",
    "Time to answer an HTTP request, by route template and method.",
    ["route", "method"],
    buckets=_LATENCY,
)
RATE_LIMITED = Counter(
    "market_ai_rate_limit_refusals_total",
    "Requests refused with 429 by the rate limiter, by route template.",
    ["route"],
)
JOBS = Counter(
    "market_ai_jobs_total",
    "Job attempts that ended, by type and outcome (succeeded, retrying, dead, fenced_out).",
    ["type", "outcome"],
)
JOB_RUN_SECONDS = Histogram(
    "market_ai_job_run_seconds",
    "Time from a job attempt's claim to its outcome, by type.",
    ["type"],
    buckets=_JOB_SECONDS,
)
JOB_WAIT_SECONDS = Histogram(
    "market_ai_job_queue_wait_seconds",
    "Time a job waited from due (enqueued, or its retry time) to its claim, by type.",
    ["type"],
    buckets=_JOB_SECONDS,
)
AI_TOKENS = Counter(
    "market_ai_ai_tokens_total",
    "Tokens billed by the AI provider, by model and kind (input, cached_input, output).",
    ["model", "kind"],
)
AI_COST = Counter(
    "market_ai_ai_cost_usd_total",
    "USD spent on AI calls (priced from the answer's usage), by model.",
    ["model"],
)


def record_spend(model: str, usage: Usage, micros: int) -> None:
    """One answered AI call: its tokens and what it cost."""
    AI_TOKENS.labels(model, "input").inc(usage.input_tokens - usage.cached_tokens)
    AI_TOKENS.labels(model, "cached_input").inc(usage.cached_tokens)
    AI_TOKENS.labels(model, "output").inc(usage.output_tokens)
    AI_COST.labels(model).inc(micros / 1_000_000)


class _JobFigures:
    """Queue gauges read from the database at scrape time by the answering process.

    They describe the instance's shared queue, not this process, so they are not summed.
    """

    def __init__(self, overview: JobOverview | None) -> None:
        self._overview = overview

    def collect(self) -> Iterator[Metric]:
        overview = self._overview
        up = GaugeMetricFamily(
            "market_ai_job_figures_up", "1 when the job figures below could be read."
        )
        up.add_metric([], 0 if overview is None else 1)
        yield up
        if overview is None:
            return
        depth = GaugeMetricFamily(
            "market_ai_jobs_waiting", "Jobs waiting to run, by state.", labels=["state"]
        )
        depth.add_metric(["queued"], overview.queued)
        depth.add_metric(["retrying"], overview.retrying)
        yield depth
        yield _gauge("market_ai_jobs_running", "Jobs running now.", overview.running)
        yield _gauge("market_ai_jobs_dead", "Dead jobs waiting for an operator.", overview.dead)
        age = overview.oldest_queued_age_seconds
        yield _gauge(
            "market_ai_jobs_oldest_waiting_seconds",
            "Age of the oldest queued job (0 when none waits).",
            age or 0.0,
        )
        yield _gauge(
            "market_ai_workers_live", "Workers with a live heartbeat.", overview.live_workers
        )


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


def multiprocess_mode() -> bool:
    """Whether this process shares its samples through PROMETHEUS_MULTIPROC_DIR."""
    return bool(os.environ.get(ENV))


def exposition(overview: JobOverview | None = None, *, with_jobs: bool = True) -> bytes:
    """The text format: this instance's counters (summed across its processes), then gauges."""
    if multiprocess_mode():
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        text = generate_latest(registry)
    else:
        text = generate_latest(REGISTRY)
    if with_jobs:
        figures = CollectorRegistry()
        figures.register(_JobFigures(overview))
        text += generate_latest(figures)
    return text


def mark_dead_at_exit() -> None:
    """Drop this process's live gauges from the shared directory when it exits."""
    if multiprocess_mode():
        atexit.register(multiprocess.mark_process_dead, os.getpid())
