"""What unauthenticated, unlimited traffic costs everyone else, against a real `market-ai serve`.

1. /health latency while waves of 100 concurrent GET /schema/openapi.yaml arrive (the docs
   are public and not rate limited), beside /health alone on the same server.
2. Slow-header clients (a header line every 0.5 s, never finishing): how many of them the
   server still holds open after `--hold` seconds.

Both run the server on deploy/hypercorn.toml with one worker, memory storage. Run from the
repository root: `.venv/bin/python bench/public_routes.py`.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # tests.live_app, when run as a script

from tests.live_app import serving  # noqa: E402
from tests.slow_clients import dribble  # noqa: E402

CONFIG = str(REPO / "deploy" / "hypercorn.toml")


async def _health_times(client: httpx.AsyncClient, base: str, count: int) -> list[float]:
    times = []
    for _ in range(count):
        started = time.perf_counter()
        (await client.get(f"{base}/health")).raise_for_status()
        times.append(time.perf_counter() - started)
        await asyncio.sleep(0.01)
    return times


async def _docs_flood(client: httpx.AsyncClient, base: str, waves: int, width: int) -> None:
    for _ in range(waves):
        answers = await asyncio.gather(
            *(client.get(f"{base}/schema/openapi.yaml") for _ in range(width))
        )
        for answer in answers:
            answer.raise_for_status()


async def _health_under_docs_flood(base: str, waves: int, width: int) -> tuple[float, float, float]:
    limits = httpx.Limits(max_connections=width + 10, max_keepalive_connections=width + 10)
    async with (
        httpx.AsyncClient(limits=limits, timeout=120) as flood,
        httpx.AsyncClient(timeout=120) as probe,
    ):
        quiet = await _health_times(probe, base, 50)
        flooding = asyncio.ensure_future(_docs_flood(flood, base, waves, width))
        loaded: list[float] = []
        while not flooding.done():
            loaded += await _health_times(probe, base, 1)
        await flooding
    return statistics.median(quiet), statistics.median(loaded), max(loaded)


def main() -> int:
    """Measure both on one server each, so neither disturbs the other."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--waves", type=int, default=5, help="waves of concurrent docs requests")
    parser.add_argument("--width", type=int, default=100, help="docs requests per wave")
    parser.add_argument("--slow", type=int, default=200, help="slow-header connections")
    parser.add_argument("--hold", type=float, default=15.0, help="seconds to keep dribbling")
    args, _ = parser.parse_known_args()  # bench/run.py passes every script the same options
    env = {"DATABASE_URL": "memory://"}
    with serving(Path(tempfile.mkdtemp()), "--config", CONFIG, "--workers", "1", **env) as base:
        quiet, median, worst = asyncio.run(_health_under_docs_flood(base, args.waves, args.width))
    print(f"/health alone: median {quiet * 1e3:.1f} ms")
    print(
        f"/health during {args.waves} waves of {args.width} concurrent /schema/openapi.yaml: "
        f"median {median * 1e3:.1f} ms, worst {worst * 1e3:.1f} ms"
    )
    with serving(Path(tempfile.mkdtemp()), "--config", CONFIG, "--workers", "1", **env) as base:
        closed = dribble(base, args.slow, args.hold)
    still_open = closed.count(None)
    cut = sorted(c for c in closed if c is not None)
    print(
        f"slow-header connections still open after {args.hold:g} s: {still_open} of {args.slow}"
        + (f" (the others cut after {cut[0]:.1f}-{cut[-1]:.1f} s)" if cut else "")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
