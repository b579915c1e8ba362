"""The metrics report's requests/s without the cache, with it, and revalidated (If-None-Match).

`market-ai serve --workers 2` on a throwaway Postgres and Redis (or BENCH_DATABASE_URL /
BENCH_REDIS_URL, which it may fill), rate limits off, warnings-only logs; wrk (Debian
package `wrk`) reads one campaign's 90-day report. `off` is CACHE_BACKEND=off; `cached` is
the Redis cache; `304` sends the report's ETag back, so the answer has no body.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "src"), str(REPO)]  # this checkout's app; tests.servers

from tests.servers import PostgresServer, RedisServer, free_port, terminate  # noqa: E402

CLI = [sys.executable, "-m", "market_ai.entrypoints.cli"]
DAYS = 90
END = date(2025, 6, 30)


@contextlib.contextmanager
def _postgres() -> Iterator[str]:
    if url := os.environ.get("BENCH_DATABASE_URL"):
        yield url
        return
    with PostgresServer(dbname="market_ai_bench") as server:
        yield server.url


@contextlib.contextmanager
def _redis() -> Iterator[str]:
    if url := os.environ.get("BENCH_REDIS_URL"):
        yield url
        return
    with RedisServer(config={"maxmemory-policy": "noeviction"}) as server:
        yield server.url


@contextlib.contextmanager
def _serving(env: dict[str, str], workers: int) -> Iterator[str]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [*CLI, "serve", "--port", str(port), "--workers", str(workers)]
    server = subprocess.Popen(command, env=env, cwd=env["MARKET_AI_DATA_DIR"])
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                httpx.get(f"{base}/health", timeout=1).raise_for_status()
                break
            time.sleep(0.1)
        yield base
    finally:
        terminate(server, timeout=30)


def _seed(base: str, token: str) -> str:
    """One campaign with DAYS days of figures; returns the report's path."""
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, headers=headers) as client:
        created = client.post("/api/campaigns", json={"name": "bench", "channel": "search"})
        path = f"/api/campaigns/{created.raise_for_status().json()['id']}/metrics"
        rows = [
            {
                "date": (END - timedelta(days=n)).isoformat(),
                "impressions": 10_000 + n,
                "clicks": 100 + n,
                "conversions": 5,
                "spend": "42.50",
                "revenue": "99.90",
            }
            for n in range(DAYS)
        ]
        client.post(path, json={"rows": rows}).raise_for_status()
    start = (END - timedelta(days=DAYS - 1)).isoformat()
    return f"{path}?from={start}&to={END.isoformat()}"


def _wrk(url: str, args: argparse.Namespace, headers: list[str]) -> str:
    command = ["wrk", "-t2", f"-c{args.connections}", f"-d{args.seconds}s", "--latency"]
    for header in headers:
        command += ["-H", header]
    out = subprocess.run([*command, url], check=True, capture_output=True, text=True).stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p50 = re.search(r"50%\s+([\d.]+\w+)", out)
    p99 = re.search(r"99%\s+([\d.]+\w+)", out)
    return (
        f"{float(rps.group(1)) if rps else 0:>8.0f}"
        f" {p50.group(1) if p50 else '?':>9} {p99.group(1) if p99 else '?':>9}"
    )


def main() -> int:
    """Each mode on a fresh server, after a short warm-up."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    args, _ = parser.parse_known_args()
    print(f"GET metrics report ({DAYS} days), wrk -c{args.connections} -d{args.seconds}s")
    print(f"{'mode':<8} {'req/s':>8} {'p50':>9} {'p99':>9}", flush=True)
    with _postgres() as database_url, _redis() as redis_url:
        data_dir = Path(tempfile.mkdtemp(prefix="market-ai-bench-"))
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO)]),
            "MARKET_AI_DATA_DIR": str(data_dir),
            "LOG_LEVEL": "WARNING",
            "RATE_LIMIT_ENABLED": "false",
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
        }
        subprocess.run([*CLI, "migrate"], env=env, check=True, capture_output=True)
        token = subprocess.run(
            [*CLI, "token", "--user", "bench"], env=env, check=True, capture_output=True, text=True
        ).stdout.strip()
        auth = f"Authorization: Bearer {token}"
        report = ""
        for mode in ("off", "cached", "304"):
            mode_env = {**env, "CACHE_BACKEND": "off" if mode == "off" else "redis"}
            with _serving(mode_env, args.workers) as base:
                report = report or _seed(base, token)
                etag = httpx.get(base + report, headers={"Authorization": f"Bearer {token}"})
                headers = [auth]
                if mode == "304":
                    headers.append(f"If-None-Match: {etag.headers['etag']}")
                warm = argparse.Namespace(**{**vars(args), "seconds": 2})
                _wrk(base + report, warm, headers)
                print(f"{mode:<8} {_wrk(base + report, args, headers)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
