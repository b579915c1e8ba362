"""The HTTP stacks the load benchmark compares, each one server process pinned to core 0.

- origin: the origin stack (FastAPI, one gunicorn worker of uvicorn, asyncpg), from the
  peers directory (`--peers`, holding `main.py` and `bare_db_litestar.py`);
- bare: `bare_db_litestar.py`, Litestar + psycopg_pool with no auth and no layers: the floor
  of our stack, on each server;
- market-ai: `market-ai serve --server S` on Postgres (and embedded SQLite).

The peers run under `--peer-python`, an interpreter with their requirements installed.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil
import psycopg
from sqlalchemy.engine import make_url

from tests.servers import free_port, terminate

START_TIMEOUT = 60.0
ORIGIN_DATABASE = "origin_bench"
ORIGIN_TABLE = (
    "CREATE TABLE IF NOT EXISTS campaigns"
    "(id serial PRIMARY KEY, name text, channel text, budget float8)"
)


def pinned(core: int, command: list[str]) -> list[str]:
    """`command` run on one core (taskset), where there are two cores and taskset."""
    if (os.cpu_count() or 1) < 2 or shutil.which("taskset") is None:
        return command
    return ["taskset", "-c", str(core), *command]


@dataclass
class Stack:
    """One running server: what it is, where it listens, how to reach its routes."""

    system: str
    server: str
    database: str
    base: str
    listing: str  # the list route with a page of 20
    token: str | None
    process: subprocess.Popen[bytes]
    started_in: float  # seconds from spawn to the first 200 on /health
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """How the table names it."""
        return f"{self.system}/{self.server}" + ("/sqlite" if self.database == "sqlite" else "")

    def rss_mb(self) -> float:
        """Resident memory of the process serving requests (a worker child if there is one)."""
        parent = psutil.Process(self.process.pid)
        processes = [parent, *parent.children(recursive=True)]
        return max(p.memory_info().rss for p in processes) / 2**20


def libpq(url: str) -> str:
    """A SQLAlchemy URL as libpq takes it."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _wait_healthy(base: str, process: subprocess.Popen[bytes], log: Path) -> float:
    started = time.monotonic()
    while time.monotonic() - started < START_TIMEOUT:
        if process.poll() is not None:
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-20:])
            raise SystemExit(f"bench: {base} exited with {process.returncode}\n{tail}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return time.monotonic() - started
        time.sleep(0.02)
    raise SystemExit(f"bench: {base} did not answer /health within {START_TIMEOUT:.0f} s")


def spawn(
    command: list[str], env: dict[str, str], cwd: Path, base: str
) -> tuple[subprocess.Popen[bytes], float]:
    """Start a server pinned to core 0; return it once /health answers, and how long that took."""
    log = Path(tempfile.mkdtemp(prefix="market-ai-bench-")) / "server.log"
    started = time.monotonic()
    with log.open("wb") as output:
        process = subprocess.Popen(
            pinned(0, command), env=env, cwd=cwd, stdout=output, stderr=output
        )
    try:
        _wait_healthy(base, process, log)
    except BaseException:
        terminate(process, timeout=30)
        raise
    return process, time.monotonic() - started


def prepare_origin_database(database_url: str) -> str:
    """The origin's table in a database of its own (the bare app uses it too); its DSN."""
    with psycopg.connect(libpq(database_url), autocommit=True) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (ORIGIN_DATABASE,)
        ).fetchone()
        if exists is None:
            conn.execute(f"CREATE DATABASE {ORIGIN_DATABASE}")
    dsn = libpq(
        make_url(database_url).set(database=ORIGIN_DATABASE).render_as_string(hide_password=False)
    )
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(ORIGIN_TABLE)
        conn.execute("TRUNCATE campaigns")
        for i in range(20):
            conn.execute(
                "INSERT INTO campaigns(name, channel, budget) VALUES (%s, 'email', 0)",
                (f"seed {i}",),
            )
    return dsn


def peer(system: str, server: str, peers: Path, python: str, dsn: str) -> Stack:
    """The origin stack, or the bare app on `server`."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    if system == "origin":
        command = [python, "-m", "gunicorn", "main:app", "--workers", "1"]
        command += ["--worker-class", "uvicorn.workers.UvicornWorker", "--bind", base[7:]]
    elif server == "granian":
        command = [python, "-m", "granian", "--interface", "asgi", "--port", str(port)]
        command += ["bare_db_litestar:app"]
    elif server == "uvicorn":
        command = [python, "-m", "uvicorn", "bare_db_litestar:app", "--port", str(port)]
        command += ["--no-access-log"]
    else:
        command = [python, "-m", "hypercorn", "bare_db_litestar:app", "--bind", base[7:]]
    env = {**os.environ, "DATABASE_URL": dsn, "RATE": "1000000000/minute"}
    process, took = spawn(command, env, peers, base)
    return Stack(system, server, "postgres", base, "/api/campaigns?limit=20", None, process, took)


def market_ai_env(data_dir: Path, database_url: str | None, repo: Path) -> dict[str, str]:
    """`market-ai serve` with its defaults, but no rate limit and warnings-only logs."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(repo / "src"), str(repo)]),  # this checkout
        "MARKET_AI_DATA_DIR": str(data_dir),
        "LOG_LEVEL": "WARNING",
        "RATE_LIMIT_ENABLED": "false",  # throughput, not 429s (bench/rate_limit.py: its cost)
    }
    env.pop("REDIS_URL", None)  # jobs run in process; no route measured here enqueues
    env.pop("DATABASE_URL", None)
    if database_url is not None:
        env["DATABASE_URL"] = database_url
    return env


def market_ai(server: str, cli: list[str], env: dict[str, str], database: str, token: str) -> Stack:
    """`market-ai serve --server S` (the database migrated and the token issued already)."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [*cli, "serve", "--port", str(port), "--server", server]
    process, took = spawn(command, env, Path(env["MARKET_AI_DATA_DIR"]), base)
    listing = "/api/campaigns?per_page=20"
    return Stack("market-ai", server, database, base, listing, token, process, took)


@contextlib.contextmanager
def running(stacks: list[Stack]) -> Iterator[list[Stack]]:
    """Stop every stack on the way out."""
    try:
        yield stacks
    finally:
        for stack in stacks:
            terminate(stack.process, timeout=30)
