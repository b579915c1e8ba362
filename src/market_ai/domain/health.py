"""Readiness: ask every dependency at once, bounded in time, and report each answer."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from market_ai.domain.ports import HealthProbe


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """One dependency's answer."""

    name: str
    healthy: bool
    latency_ms: float
    error: str | None = None


@dataclass(frozen=True, slots=True)
class HealthReport:
    """Every dependency's answer; ready only when all are healthy."""

    probes: Sequence[ProbeResult]

    @property
    def ready(self) -> bool:
        """Whether a load balancer should send traffic here."""
        return all(p.healthy for p in self.probes)


class HealthService:
    """Runs the probes concurrently so one slow dependency costs at most `timeout`."""

    def __init__(self, probes: Sequence[HealthProbe], timeout: float = 2.0) -> None:
        self._probes = probes
        self._timeout = timeout

    async def readiness(self) -> HealthReport:
        """Probe every dependency."""
        results = await asyncio.gather(*(self._run(p) for p in self._probes))
        return HealthReport(probes=results)

    async def _run(self, probe: HealthProbe) -> ProbeResult:
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self._timeout):
                await probe.check()
        except TimeoutError:
            error: str | None = f"no answer within {self._timeout:g}s"
        except Exception as exc:  # noqa: BLE001 - any failure means not ready
            error = type(exc).__name__
        else:
            error = None
        latency = round((time.perf_counter() - started) * 1000, 2)
        return ProbeResult(name=probe.name, healthy=error is None, latency_ms=latency, error=error)
