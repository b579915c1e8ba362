"""HTTP throughput of `market-ai serve`: requests/s and latency percentiles per route.

Starts the server as operators do (embedded SQLite unless DATABASE_URL is set) and drives it
with wrk (Debian package `wrk`) from a separate process, like the origin stack's figures.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from tests.servers import free_port

POST_SCRIPT = """
wrk.method = "POST"
wrk.body = '{"name": "bench", "channel": "search", "budget": "10.00"}'
wrk.headers["Content-Type"] = "application/json"
"""


def _wrk(url: str, token: str, args: argparse.Namespace, script: Path | None) -> str:
    command = [
        "wrk",
        f"-t{args.threads}",
        f"-c{args.connections}",
        f"-d{args.seconds}s",
        "--latency",
        "-H",
        f"Authorization: Bearer {token}",
        url,
    ]
    if script is not None:
        command[1:1] = ["-s", str(script)]
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout


def _summary(name: str, output: str) -> str:
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    p50 = re.search(r"50%\s+([\d.]+\w+)", output)
    p99 = re.search(r"99%\s+([\d.]+\w+)", output)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return (
        f"{name:<26} {float(rps.group(1)) if rps else 0:>9.0f} req/s"
        f"   p50 {p50.group(1) if p50 else '?':>8}   p99 {p99.group(1) if p99 else '?':>8}"
        f"   non-2xx {errors.group(1) if errors else 0}"
    )


def main() -> int:
    """Serve, measure each route, stop."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("bench needs wrk (Debian package wrk)", file=sys.stderr)
        return 2
    data_dir = Path(tempfile.mkdtemp(prefix="market-ai-bench-"))
    port = free_port()
    env = {
        **os.environ,
        "MARKET_AI_DATA_DIR": str(data_dir),
        "LOG_LEVEL": "WARNING",
        "RATE_LIMIT_ENABLED": "false",  # throughput, not 429s (bench/rate_limit.py: its cost)
    }
    cli = [sys.executable, "-m", "market_ai.entrypoints.cli"]
    token = subprocess.run(
        [*cli, "token", "--user", "bench"], env=env, check=True, capture_output=True, text=True
    ).stdout.strip()
    server = subprocess.Popen(
        [*cli, "serve", "--port", str(port), "--workers", str(args.workers)], env=env
    )
    base = f"http://127.0.0.1:{port}"
    script = data_dir / "post.lua"
    script.write_text(POST_SCRIPT)
    try:
        for _ in range(100):
            try:
                httpx.get(f"{base}/health", timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        headers = {"Authorization": f"Bearer {token}"}
        for i in range(20):
            body = {"name": f"seed {i}", "channel": "email"}
            httpx.post(f"{base}/api/campaigns", json=body, headers=headers).raise_for_status()
        backend = "postgres" if os.environ.get("DATABASE_URL") else "embedded sqlite"
        print(
            f"market-ai serve: {args.workers} worker(s), {backend}; "
            f"wrk -t{args.threads} -c{args.connections} -d{args.seconds}s"
        )
        print(_summary("GET /health", _wrk(f"{base}/health", token, args, None)))
        listing = f"{base}/api/campaigns?per_page=20"
        print(_summary("GET /api/campaigns (20)", _wrk(listing, token, args, None)))
        created = _wrk(f"{base}/api/campaigns", token, args, script)
        print(_summary("POST /api/campaigns", created))
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
