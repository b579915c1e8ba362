"""HTTP throughput per route: requests/s and latency percentiles, embedded and on Postgres.

`market-ai serve --workers N` is started as operators start it, once on the embedded SQLite
default and once on Postgres, and driven with wrk (Debian package `wrk`) from a separate
process: GET /health, GET /api/campaigns (a page of 20, with its count) and POST
/api/campaigns, each with a bearer token, so every /api request is verified. The rate
limiter is off: this measures throughput (bench/rate_limit.py measures the limiter).

Postgres is a throwaway server started for the run unless BENCH_DATABASE_URL names one
whose database may be migrated and filled with rows (and where a database may be created
for the origin stack).

With `--origin DIR` (a directory holding the origin stack's `main.py`: FastAPI under
gunicorn with uvicorn workers and an asyncpg pool) the same routes are measured with the
same wrk settings, worker count and Postgres, so the origin's published figures can be
compared like for like. Its requirements must be importable by `--origin-python`.

`--in-process` measures the app alone instead: CPU microseconds per request through the
ASGI app called directly (no server, no socket, memory storage), best of a few rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
from sqlalchemy.engine import make_url

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "src"), str(REPO)]  # this checkout's app; tests.servers

from tests.servers import PostgresServer, free_port, terminate  # noqa: E402

CLI = [sys.executable, "-m", "market_ai.entrypoints.cli"]
BODY = '{"name": "bench", "channel": "search", "budget": "10.00"}'
POST_SCRIPT = f"""
wrk.method = "POST"
wrk.body = '{BODY}'
wrk.headers["Content-Type"] = "application/json"
"""
ORIGIN_DATABASE = "origin_bench"
ORIGIN_TABLE = (
    "CREATE TABLE IF NOT EXISTS campaigns"
    "(id serial PRIMARY KEY, name text, channel text, budget float8)"
)
START_TIMEOUT = 60.0


@dataclass(frozen=True)
class Row:
    """One line of the table: a route of one stack on one database."""

    system: str
    database: str
    route: str
    output: str

    def render(self) -> str:
        """Requests/s, p50, p99 and the failures wrk counted."""
        rps = re.search(r"Requests/sec:\s+([\d.]+)", self.output)
        p50 = re.search(r"50%\s+([\d.]+\w+)", self.output)
        p99 = re.search(r"99%\s+([\d.]+\w+)", self.output)
        non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", self.output)
        timeouts = re.search(r"timeout (\d+)", self.output)
        return (
            f"{self.system:<10} {self.database:<9} {self.route:<24}"
            f" {float(rps.group(1)) if rps else 0:>8.0f}"
            f" {p50.group(1) if p50 else '?':>9} {p99.group(1) if p99 else '?':>9}"
            f" {non_2xx.group(1) if non_2xx else 0:>8} {timeouts.group(1) if timeouts else 0:>8}"
        )


HEADER = (
    f"{'system':<10} {'database':<9} {'route':<24} {'req/s':>8} {'p50':>9} {'p99':>9}"
    f" {'non-2xx':>8} {'timeouts':>8}"
)


def _wrk(url: str, args: argparse.Namespace, token: str | None, script: Path | None) -> str:
    command = ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{args.seconds}s"]
    command += ["--latency", "--timeout", "10s"]
    if token is not None:
        command += ["-H", f"Authorization: Bearer {token}"]
    if script is not None:
        command += ["-s", str(script)]
    return subprocess.run([*command, url], check=True, capture_output=True, text=True).stdout


def _wait_healthy(base: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if server.poll() is not None:
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-20:])
            raise SystemExit(f"bench: the server at {base} exited with {server.returncode}\n{tail}")
        with contextlib.suppress(httpx.HTTPError):
            httpx.get(f"{base}/health", timeout=1).raise_for_status()
            return
        time.sleep(0.1)
    raise SystemExit(f"bench: {base} did not answer /health within {START_TIMEOUT:.0f} s")


@contextlib.contextmanager
def _running(command: list[str], env: Mapping[str, str], base: str, cwd: Path) -> Iterator[None]:
    log = Path(tempfile.mkdtemp(prefix="market-ai-bench-")) / "server.log"
    with log.open("wb") as output:
        server = subprocess.Popen(command, env=dict(env), cwd=cwd, stdout=output, stderr=output)
    try:
        _wait_healthy(base, server, log)
        yield
    finally:
        terminate(server, timeout=30)


def _measure(
    system: str, database: str, base: str, args: argparse.Namespace, token: str | None
) -> list[Row]:
    """Warm up briefly, then the three routes in turn (the list reads a page of 20)."""
    script = Path(tempfile.mkdtemp(prefix="market-ai-bench-")) / "post.lua"
    script.write_text(POST_SCRIPT)
    listing = "/api/campaigns?per_page=20" if system == "market-ai" else "/api/campaigns?limit=20"
    warm = argparse.Namespace(**{**vars(args), "seconds": 2})
    _wrk(f"{base}{listing}", warm, token, None)
    rows = [
        Row(system, database, "GET /health", _wrk(f"{base}/health", args, token, None)),
        Row(system, database, "GET /api/campaigns (20)", _wrk(base + listing, args, token, None)),
        Row(
            system,
            database,
            "POST /api/campaigns",
            _wrk(base + "/api/campaigns", args, token, script),
        ),
    ]
    for row in rows:
        print(row.render(), flush=True)
    return rows


def market_ai(database: str, database_url: str | None, args: argparse.Namespace) -> list[Row]:
    """`market-ai serve` with its defaults, but no rate limit and warnings-only logs."""
    data_dir = Path(tempfile.mkdtemp(prefix="market-ai-bench-"))
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO)]),  # this checkout
        "MARKET_AI_DATA_DIR": str(data_dir),
        "LOG_LEVEL": "WARNING",
        "RATE_LIMIT_ENABLED": "false",  # throughput, not 429s (bench/rate_limit.py: its cost)
    }
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)  # jobs run in process; no route measured here enqueues
    if database_url is not None:
        env["DATABASE_URL"] = database_url
        subprocess.run([*CLI, "migrate"], env=env, check=True, capture_output=True)
        with psycopg.connect(_libpq(database_url), autocommit=True) as conn:
            conn.execute("DELETE FROM campaigns")
    token = subprocess.run(
        [*CLI, "token", "--user", "bench"], env=env, check=True, capture_output=True, text=True
    ).stdout.strip()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    serve = [*CLI, "serve", "--port", str(port), "--workers", str(args.workers)]
    with _running(serve, env, base, data_dir):
        headers = {"Authorization": f"Bearer {token}"}
        for i in range(20):
            body = {"name": f"seed {i}", "channel": "email"}
            httpx.post(f"{base}/api/campaigns", json=body, headers=headers).raise_for_status()
        return _measure("market-ai", database, base, args, token)


def origin(stack: Path, python: str, database_url: str, args: argparse.Namespace) -> list[Row]:
    """The origin stack as its guide runs it (gunicorn + uvicorn workers), in its own database."""
    url = make_url(database_url)
    with psycopg.connect(_libpq(database_url), autocommit=True) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (ORIGIN_DATABASE,)
        ).fetchone()
        if exists is None:
            conn.execute(f"CREATE DATABASE {ORIGIN_DATABASE}")
    origin_url = url.set(drivername="postgresql", database=ORIGIN_DATABASE)
    dsn = origin_url.render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(ORIGIN_TABLE)
        conn.execute("TRUNCATE campaigns")
        for i in range(20):
            conn.execute(
                "INSERT INTO campaigns(name, channel, budget) VALUES (%s, 'email', 0)",
                (f"seed {i}",),
            )
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [python, "-m", "gunicorn", "main:app", "--workers", str(args.workers)]
    command += ["--worker-class", "uvicorn.workers.UvicornWorker", "--bind", f"127.0.0.1:{port}"]
    env = {**os.environ, "DATABASE_URL": dsn, "RATE": "1000000000/minute"}
    with _running(command, env, base, stack):
        return _measure("origin", "postgres", base, args, token=None)


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


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@contextlib.contextmanager
def _postgres() -> Iterator[str]:
    if url := os.environ.get("BENCH_DATABASE_URL"):
        yield url
        return
    with PostgresServer(dbname="market_ai_bench") as server:
        yield server.url


def main() -> int:
    """Measure each selected stack and database, then print the table again in one piece."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--database", choices=["sqlite", "postgres", "both"], default="both", help="market-ai's"
    )
    parser.add_argument("--origin", type=Path, help="directory of the origin stack's main.py")
    parser.add_argument("--origin-python", default=sys.executable, help="its interpreter")
    parser.add_argument("--in-process", action="store_true", help="the app's CPU per request")
    parser.add_argument("--requests", type=int, default=2000, help="per route, with --in-process")
    parser.add_argument("--rounds", type=int, default=3, help="with --in-process")
    args, _ = parser.parse_known_args()  # bench/run.py hands every script the same options
    if args.in_process:
        in_process(args)
        return 0
    if shutil.which("wrk") is None:
        print("bench needs wrk (Debian package wrk)", file=sys.stderr)
        return 2
    print(
        f"{args.workers} worker processes each; wrk -t{args.threads} -c{args.connections}"
        f" -d{args.seconds}s; rate limits off",
        flush=True,
    )
    print(HEADER, flush=True)
    rows: list[Row] = []
    if args.database in {"sqlite", "both"}:
        rows += market_ai("sqlite", None, args)
    if args.database in {"postgres", "both"} or args.origin is not None:
        with _postgres() as database_url:
            if args.database in {"postgres", "both"}:
                rows += market_ai("postgres", database_url, args)
            if args.origin is not None:
                rows += origin(args.origin.resolve(), args.origin_python, database_url, args)
    print(f"\n{HEADER}")
    for row in rows:
        print(row.render())
    return 0


if __name__ == "__main__":
    sys.exit(main())
