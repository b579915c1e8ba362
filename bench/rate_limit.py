"""What the rate limiter costs a request: latency off, in process, and on Redis.

Sequential GET /api/campaigns against `market-ai serve` (one worker, memory storage, a limit
too high to reach), so the difference between the modes is the limiter's own work: the
token check it does to find the user, and the in-process or Redis count. Redis is started
for the run unless REDIS_URL points at one.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from tests.live_app import dev_token, serving
from tests.servers import RedisServer


@contextlib.contextmanager
def _redis() -> Iterator[str]:
    if url := os.environ.get("REDIS_URL"):
        yield url
        return
    with RedisServer(config={"maxmemory-policy": "noeviction"}) as server:
        yield server.url


def _measure(requests: int, **env: str) -> list[float]:
    data_dir = Path(tempfile.mkdtemp(prefix="market-ai-bench-"))
    token = dev_token(data_dir, "bench")
    settings = {"DATABASE_URL": "memory://", "RATE_LIMIT_DEFAULT": "1000000000/minute", **env}
    with serving(data_dir, **settings) as base, httpx.Client() as client:
        client.headers["Authorization"] = f"Bearer {token}"
        for _ in range(requests // 10):  # warm up: connections, caches, the Lua script
            client.get(f"{base}/api/campaigns").raise_for_status()
        latencies = []
        for _ in range(requests):
            started = time.perf_counter()
            client.get(f"{base}/api/campaigns").raise_for_status()
            latencies.append(time.perf_counter() - started)
    return sorted(latencies)


def main() -> int:
    """Alternate the modes for a few rounds, so a busy machine skews them alike."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    args, _ = parser.parse_known_args()
    with _redis() as redis_url:
        modes = {
            "off": {"RATE_LIMIT_ENABLED": "false"},
            "in process": {},
            "redis": {"REDIS_URL": redis_url},
        }
        medians: dict[str, list[float]] = {mode: [] for mode in modes}
        for _ in range(args.rounds):
            for mode, env in modes.items():
                medians[mode].append(statistics.median(_measure(args.requests, **env)))
    print(f"GET /api/campaigns, {args.requests} sequential requests x {args.rounds} rounds")
    off = statistics.median(medians["off"])
    for mode, values in medians.items():
        median = statistics.median(values)
        print(f"  limiter {mode:10s} median {median * 1e3:6.2f} ms  (+{(median - off) * 1e3:.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
