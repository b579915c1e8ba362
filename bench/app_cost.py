"""The app's own CPU per request: the ASGI app called directly (no server, no socket, memory).

`python bench/http_load.py --in-process` prints it; best of a few rounds, so scheduling
noise on a shared machine inflates it least.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

BODY = '{"name": "bench", "channel": "search", "budget": "10.00"}'


async def _app_cost(requests: int, rounds: int) -> dict[str, float]:
    """Best CPU microseconds per request of each route, the app called as an ASGI callable."""
    from market_ai.adapters.auth.local_key import LocalKeyTokens  # noqa: PLC0415
    from market_ai.container import build_container  # noqa: PLC0415
    from market_ai.entrypoints.http.app import create_app  # noqa: PLC0415
    from market_ai.logging import configure_logging  # noqa: PLC0415
    from market_ai.settings import Settings  # noqa: PLC0415

    configure_logging("WARNING")  # as the served benchmark: no access log line
    data_dir = Path(tempfile.mkdtemp(prefix="market-ai-bench-"))
    settings = Settings(
        _env_file=None, database_url="memory://", data_dir=data_dir, rate_limit_enabled=False
    )
    app = create_app(build_container(settings))
    tokens = LocalKeyTokens(data_dir)
    # The reader lists its 20 campaigns; the writer's creations never lengthen that list.
    reader, writer = tokens.issue("bench").encode(), tokens.issue("writer").encode()

    async def call(
        method: str, path: str, query: bytes = b"", body: bytes = b"", token: bytes = writer
    ) -> None:
        headers = [(b"host", b"bench"), (b"authorization", b"Bearer " + token)]
        headers += [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
            "method": method, "scheme": "http", "path": path, "raw_path": path.encode(),
            "query_string": query, "root_path": "", "headers": headers,
            "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 2), "state": {}, "extensions": {},
        }  # fmt: skip
        messages = [{"type": "http.request", "body": body, "more_body": False}]

        async def receive() -> dict[str, Any]:
            return messages.pop() if messages else {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start" and message["status"] >= 300:
                raise SystemExit(f"bench: {method} {path} answered {message['status']}")

        await app(scope, receive, send)  # type: ignore[arg-type]

    routes: dict[str, Callable[[], Awaitable[None]]] = {
        "GET /health": lambda: call("GET", "/health"),
        "GET /api/campaigns (20)": lambda: call(
            "GET", "/api/campaigns", b"per_page=20", token=reader
        ),
        "POST /api/campaigns": lambda: call("POST", "/api/campaigns", body=BODY.encode()),
    }
    best: dict[str, float] = {}
    async with app.lifespan():
        for i in range(20):
            seed = b'{"name": "seed %d", "channel": "email"}' % i
            await call("POST", "/api/campaigns", body=seed, token=reader)
        for _ in range(rounds):
            for name, request in routes.items():
                for _ in range(requests // 10):  # warm up
                    await request()
                started = time.process_time()
                for _ in range(requests):
                    await request()
                cost = (time.process_time() - started) / requests * 1e6
                best[name] = min(best.get(name, cost), cost)
    return best


def in_process(args: argparse.Namespace) -> None:
    """Print the app's own CPU cost per request (no server: Hypercorn and sockets excluded)."""
    costs = asyncio.run(_app_cost(args.requests, args.rounds))
    print(f"market-ai app in process, memory storage: CPU per request, best of {args.rounds}")
    for name, cost in costs.items():
        print(f"{name:<24} {cost:>8.0f} us")
