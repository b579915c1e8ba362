"""Health routes for load balancers and operators; never behind auth or rate limits."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from typing import Any, Final

from litestar import Controller, Response, get, head
from litestar.di import NamedDependency

from market_ai.domain.health import HealthReport, HealthService
from market_ai.domain.job_overview import JobMonitor
from market_ai.entrypoints.http.system import system_figures

HEALTH_JSON: Final = "application/health+json"
JOBS_TIMEOUT: Final = 2.0  # the same bound the dependency probes get


def _checks(report: HealthReport) -> dict[str, Any]:
    return {
        p.name: {
            "status": "pass" if p.healthy else "fail",
            "latency_ms": p.latency_ms,
            **({"error": p.error} if p.error else {}),
        }
        for p in report.probes
    }


async def _jobs(monitor: JobMonitor) -> dict[str, Any]:
    """Queue figures, or why they could not be read (the probes say which dependency)."""
    started = time.perf_counter()
    try:
        async with asyncio.timeout(JOBS_TIMEOUT):
            overview = await monitor.overview()
    except TimeoutError:
        return {"status": "fail", "error": f"no answer within {JOBS_TIMEOUT:g}s"}
    except Exception as exc:  # noqa: BLE001 - reported, not raised: health must answer
        return {"status": "fail", "error": type(exc).__name__}
    idle = overview.queued > 0 and overview.live_workers == 0
    return {
        "status": "warn" if overview.dead or idle else "pass",
        "latency_ms": round((time.perf_counter() - started) * 1000, 2),
        **dataclasses.asdict(overview),
    }


class HealthController(Controller):
    """Liveness answers from memory; readiness asks every dependency; HEAD works on each."""

    path = "/health"
    tags = ["health"]  # noqa: RUF012 - Litestar reads this class attribute

    @get("/", media_type=HEALTH_JSON, include_in_schema=True, cache=False)
    async def live(self) -> dict[str, str]:
        """The process is up and its event loop answers (no I/O, so it never flaps)."""
        return {"status": "pass"}

    @head("/", media_type=HEALTH_JSON, cache=False)
    async def live_head(self) -> None:
        """Liveness without a body."""

    @get("/ready", media_type=HEALTH_JSON, cache=False)
    async def ready(self, health: NamedDependency[HealthService]) -> Response[dict[str, Any]]:
        """503 until every dependency answers, so traffic only reaches a working instance.

        Connectivity only: load balancers call it every few seconds, so it reads no job
        figures (those are in /health/detailed); a backlog is no reason to stop serving.
        """
        report = await health.readiness()
        body = {"status": "pass" if report.ready else "fail", "checks": _checks(report)}
        return Response(body, status_code=200 if report.ready else 503, media_type=HEALTH_JSON)

    @head("/ready", media_type=HEALTH_JSON, cache=False)
    async def ready_head(self, health: NamedDependency[HealthService]) -> Response[None]:
        """Readiness as a status code only."""
        report = await health.readiness()
        return Response(None, status_code=200 if report.ready else 503, media_type=HEALTH_JSON)

    @get("/detailed", media_type=HEALTH_JSON, cache=False)
    async def detailed(
        self, health: NamedDependency[HealthService], job_monitor: NamedDependency[JobMonitor]
    ) -> Response[dict[str, Any]]:
        """Every dependency with its latency, the job system's figures and the host's.

        `warn` (still 200) when jobs are dead or wait with no live worker; 503 when a
        dependency fails, like readiness.
        """
        report, jobs = await asyncio.gather(health.readiness(), _jobs(job_monitor))
        status = "pass" if jobs["status"] == "pass" else "warn"
        if not report.ready:
            status = "fail"
        body = {
            "status": status,
            "checks": _checks(report),
            "jobs": jobs,
            "system": system_figures(),
        }
        return Response(body, status_code=503 if status == "fail" else 200, media_type=HEALTH_JSON)

    @head("/detailed", media_type=HEALTH_JSON, cache=False)
    async def detailed_head(self, health: NamedDependency[HealthService]) -> Response[None]:
        """The detailed report's status code only."""
        report = await health.readiness()
        return Response(None, status_code=200 if report.ready else 503, media_type=HEALTH_JSON)
