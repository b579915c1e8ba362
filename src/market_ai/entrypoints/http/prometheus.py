"""`GET /metrics` (Prometheus text) and the recorder the request middleware feeds.

Registered only when metrics are on; prometheus-client is imported here, lazily, so a
process without metrics never loads it.
"""

from __future__ import annotations

import asyncio
import hmac
from typing import TYPE_CHECKING, Any, Final

import structlog
from litestar import Request, Response, get
from litestar.di import NamedDependency
from litestar.handlers import HTTPRouteHandler

from market_ai.domain.job_overview import JobMonitor
from market_ai.entrypoints.http.problems import problem

if TYPE_CHECKING:
    from market_ai.domain.job_overview import JobOverview
    from market_ai.entrypoints.http.request_context import Recorder
    from market_ai.settings import Settings

log = structlog.get_logger(__name__)
FIGURES_TIMEOUT: Final = 2.0
_METHODS: Final = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def http_recorder() -> Recorder:
    """Count each request by route template, method and status, and time it."""
    from market_ai.observability import metrics  # noqa: PLC0415 - only with metrics on

    metrics.mark_dead_at_exit()

    def record(route: str, method: str, status: int, seconds: float) -> None:
        method = method if method in _METHODS else "OTHER"  # a client may send any verb
        metrics.HTTP_REQUESTS.labels(route, method, str(status)).inc()
        metrics.HTTP_SECONDS.labels(route, method).observe(seconds)
        if status == 429:  # noqa: PLR2004 - only the rate limiter answers 429
            metrics.RATE_LIMITED.labels(route).inc()

    return record


async def _overview(monitor: JobMonitor) -> JobOverview | None:
    try:
        async with asyncio.timeout(FIGURES_TIMEOUT):
            return await monitor.overview()
    except Exception as exc:  # noqa: BLE001 - a scrape still answers; figures_up says 0
        log.warning("metrics.job_figures_failed", error=type(exc).__name__)
        return None


def metrics_route(settings: Settings) -> HTTPRouteHandler:
    """The scrape route; with METRICS_TOKEN it wants `Authorization: Bearer <token>`."""
    token = settings.metrics_token
    expected = None if token is None else f"Bearer {token.get_secret_value()}".encode()

    @get("/metrics", include_in_schema=False, cache=False)
    async def scrape(
        request: Request[Any, Any, Any], job_monitor: NamedDependency[JobMonitor]
    ) -> Response[Any]:
        if expected is not None:
            given = request.headers.get("authorization", "").encode()
            if not hmac.compare_digest(given, expected):
                return problem(
                    401,
                    "metrics need the METRICS_TOKEN as a bearer token",
                    headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
                )
        from market_ai.observability.metrics import CONTENT_TYPE, exposition  # noqa: PLC0415

        body = exposition(await _overview(job_monitor))
        return Response(body, media_type=CONTENT_TYPE)

    return scrape
