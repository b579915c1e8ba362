"""Process and host figures for /health/detailed, read without blocking the event loop."""

from __future__ import annotations

import functools
import os
from typing import Any

import psutil


@functools.cache
def _process() -> psutil.Process:
    """The current process, primed: cpu_percent(interval=None) compares with the last call."""
    process = psutil.Process()
    process.cpu_percent(interval=None)
    psutil.cpu_percent(interval=None)
    return process


def system_figures() -> dict[str, Any]:
    """CPU since the last call (never a sleeping sample), memory, load; all cheap reads."""
    process = _process()
    memory = psutil.virtual_memory()
    with process.oneshot():
        figures: dict[str, Any] = {
            "cpu_percent": psutil.cpu_percent(interval=None),
            "process_cpu_percent": process.cpu_percent(interval=None),
            "memory_percent": memory.percent,
            "process_rss_bytes": process.memory_info().rss,
            "process_threads": process.num_threads(),
        }
    if hasattr(os, "getloadavg"):
        figures["load_average"] = [round(value, 2) for value in os.getloadavg()]
    return figures
