"""Health routes for load balancers and operators; never behind auth or rate limits."""

from __future__ import annotations

from typing import Any, Final

from litestar import Controller, Request, Response, get, head
from litestar.di import NamedDependency

from market_ai.domain.health import HealthService
from market_ai.entrypoints.http.detailed_health import DetailedHealth, checks

HEALTH_JSON: Final = "application/health+json"


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
        body = {"status": "pass" if report.ready else "fail", "checks": checks(report)}
        return Response(body, status_code=200 if report.ready else 503, media_type=HEALTH_JSON)

    @head("/ready", media_type=HEALTH_JSON, cache=False)
    async def ready_head(self, health: NamedDependency[HealthService]) -> Response[None]:
        """Readiness as a status code only."""
        report = await health.readiness()
        return Response(None, status_code=200 if report.ready else 503, media_type=HEALTH_JSON)

    @get("/detailed", media_type=HEALTH_JSON, cache=False)
    async def detailed(
        self, request: Request[Any, Any, Any], detailed_health: NamedDependency[DetailedHealth]
    ) -> Response[dict[str, Any]]:
        """Every dependency with its latency, the job system's figures and the host's.

        `warn` (still 200) when jobs are dead or wait with no live worker; 503 when a
        dependency fails, like readiness. Concurrent probes share one report (DetailedHealth);
        host figures are left out in production unless the caller is an operator.
        """
        code, shared = await detailed_health.report()
        body = dict(shared)
        if not detailed_health.shows_host_figures(request.headers.get("authorization", "")):
            del body["system"]
        return Response(body, status_code=code, media_type=HEALTH_JSON)

    @head("/detailed", media_type=HEALTH_JSON, cache=False)
    async def detailed_head(
        self, detailed_health: NamedDependency[DetailedHealth]
    ) -> Response[None]:
        """The detailed report's status code only."""
        code, _ = await detailed_health.report()
        return Response(None, status_code=code, media_type=HEALTH_JSON)
