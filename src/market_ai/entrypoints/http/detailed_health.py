"""/health/detailed: one computation shared by every probe for a moment; host figures for operators.

The route is public and not rate limited, and each report asks the database, the queue
and the host. Concurrent probes (a monitor fleet, or a flood) now wait for one report in
progress, and a finished one answers everyone for `SHARE_SECONDS`. In production the host
figures (CPU, memory, load, threads) are for operators only: a bearer OPERATOR_TOKEN.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hmac
import time
from collections.abc import Callable
from typing import Any, Final

from market_ai.domain.health import HealthReport, HealthService
from market_ai.domain.job_overview import JobMonitor
from market_ai.entrypoints.http.auth import bearer_token
from market_ai.entrypoints.http.system import system_figures

JOBS_TIMEOUT: Final = 2.0  # the same bound the dependency probes get
SHARE_SECONDS: Final = 1.0


def checks(report: HealthReport) -> dict[str, Any]:
    """Each dependency's status and latency, as health+json lists them."""
    return {
        p.name: {
            "status": "pass" if p.healthy else "fail",
            "latency_ms": p.latency_ms,
            **({"error": p.error} if p.error else {}),
        }
        for p in report.probes
    }


async def job_figures(monitor: JobMonitor) -> dict[str, Any]:
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


class DetailedHealth:
    """The detailed report, computed at most once per `share_seconds` whoever asks.

    `report()` callers arriving while a computation runs await that one (shielded, so a
    caller that gives up does not cancel it for the others); a finished report is reused
    until it is `share_seconds` old. Methods never interleave inside a check-and-set.
    """

    def __init__(
        self,
        health: Callable[[], HealthService],
        job_monitor: Callable[[], JobMonitor],
        *,
        operator_token: str | None,
        host_figures_for_all: bool,
        share_seconds: float = SHARE_SECONDS,
    ) -> None:
        self._health = health
        self._job_monitor = job_monitor
        self._operator_token = operator_token.encode() if operator_token else None
        self._host_figures_for_all = host_figures_for_all
        self._share_seconds = share_seconds
        self._last: tuple[float, int, dict[str, Any]] | None = None
        self._pending: asyncio.Task[tuple[int, dict[str, Any]]] | None = None
        self.computed = 0

    async def report(self) -> tuple[int, dict[str, Any]]:
        """(HTTP status, body with host figures under `system`), shared as described."""
        if self._last is not None and time.monotonic() - self._last[0] < self._share_seconds:
            return self._last[1], self._last[2]
        if self._pending is None:
            self._pending = asyncio.ensure_future(self._compute())
        return await asyncio.shield(self._pending)

    def shows_host_figures(self, authorization: str) -> bool:
        """Everyone outside production; in production only the OPERATOR_TOKEN bearer."""
        if self._host_figures_for_all:
            return True
        token = bearer_token(authorization)
        if self._operator_token is None or token is None:
            return False
        return hmac.compare_digest(token.encode(), self._operator_token)

    async def _compute(self) -> tuple[int, dict[str, Any]]:
        try:
            self.computed += 1
            report, jobs = await asyncio.gather(
                self._health().readiness(), job_figures(self._job_monitor())
            )
            status = "pass" if jobs["status"] == "pass" else "warn"
            if not report.ready:
                status = "fail"
            body = {
                "status": status,
                "checks": checks(report),
                "jobs": jobs,
                "system": system_figures(),
            }
            code = 503 if status == "fail" else 200
            self._last = (time.monotonic(), code, body)
            return code, body
        finally:
            self._pending = None
