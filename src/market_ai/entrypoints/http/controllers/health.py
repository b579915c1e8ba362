"""Health routes for load balancers and operators; never behind auth or rate limits."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Response, get
from litestar.di import NamedDependency

from market_ai.domain.health import HealthService

HEALTH_JSON = "application/health+json"


class HealthController(Controller):
    """Liveness answers from memory; readiness asks every dependency."""

    path = "/health"
    tags = ["health"]  # noqa: RUF012 - Litestar reads this class attribute

    @get("/", media_type=HEALTH_JSON, include_in_schema=True, cache=False)
    async def live(self) -> dict[str, str]:
        """The process is up and its event loop answers (no I/O, so it never flaps)."""
        return {"status": "pass"}

    @get("/ready", media_type=HEALTH_JSON, cache=False)
    async def ready(self, health: NamedDependency[HealthService]) -> Response[dict[str, Any]]:
        """503 until every dependency answers, so traffic only reaches a working instance."""
        report = await health.readiness()
        body = {
            "status": "pass" if report.ready else "fail",
            "checks": {
                p.name: {
                    "status": "pass" if p.healthy else "fail",
                    "latency_ms": p.latency_ms,
                    **({"error": p.error} if p.error else {}),
                }
                for p in report.probes
            },
        }
        return Response(body, status_code=200 if report.ready else 503, media_type=HEALTH_JSON)
