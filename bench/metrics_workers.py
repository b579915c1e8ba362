"""What one scrape of `market-ai serve --workers 2` reads after N requests.

Prometheus scrapes one process at a time; without a shared multiprocess directory each
Hypercorn worker would report only its own share. Sends `--requests` (200) to
/health/detailed, 8 at once, then scrapes /metrics a few times and prints what each read.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.live_app, as a script

from tests.live_app import dev_token, serving

ROUTE = 'route="/health/detailed"'


def _read(text: str) -> float:
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("market_ai_http_requests_total{") and ROUTE in line
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--scrapes", type=int, default=6)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        dev_token(data_dir, "bench")  # the signing key, before two workers race to make it
        with serving(data_dir, "--workers", "2", METRICS_ENABLED="true") as base:
            with ThreadPoolExecutor(8) as pool:
                statuses = set(
                    pool.map(
                        lambda _: httpx.get(f"{base}/health/detailed", timeout=10).status_code,
                        range(args.requests),
                    )
                )
            reads = [_read(httpx.get(f"{base}/metrics").text) for _ in range(args.scrapes)]
    print(f"{args.requests} requests (statuses {sorted(statuses)}); scrapes read: {reads}")


if __name__ == "__main__":
    main()
