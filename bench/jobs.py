"""Job throughput: no-op jobs per second, end to end, for market-ai and for arq and saq.

market-ai: N `noop` jobs are submitted in one transaction (JobService.submit_many) while
1, then 2, `market-ai worker` processes wait; the clock runs from the submit (after imports
and the first connection) until every row reads `succeeded` in the database. So each job
costs its whole path: the row insert, the relay's publish and stamp, XREADGROUP, the fenced
claim, the handler, the fenced finish, XACK + XDEL.

arq and saq run the same N no-op jobs on the same Redis, one worker process each with the
same concurrency, timed from the first enqueue until their own APIs report every job done
(arq: a stored result per job; saq: no incomplete job). Not apples to apples: they keep no database
row per job, so no transaction is paid for, and they lose a job whose worker dies.

Postgres and Redis are started for the run unless BENCH_DATABASE_URL / BENCH_REDIS_URL name
servers that may be emptied (the jobs table is cleared and Redis FLUSHDB'd between rounds).
arq and saq come from the `bench` extra; without them their rows say so.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import redis
from sqlalchemy.engine import make_url

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # tests.servers, when run as a script

from tests.servers import PostgresServer, RedisServer, terminate  # noqa: E402

CLI = [sys.executable, "-m", "market_ai.entrypoints.cli"]
OWNER = "bench"
DEADLINE = 300.0


@dataclass(frozen=True)
class Result:
    """One row of the table."""

    system: str
    workers: int
    jobs: int
    seconds: float
    note: str = ""

    @property
    def rate(self) -> float:
        """Jobs per second, end to end."""
        return self.jobs / self.seconds if self.seconds else 0.0


@contextlib.contextmanager
def _postgres() -> Iterator[str]:
    if url := os.environ.get("BENCH_DATABASE_URL"):
        yield url
        return
    with PostgresServer() as server:
        yield server.url


@contextlib.contextmanager
def _redis() -> Iterator[str]:
    if url := os.environ.get("BENCH_REDIS_URL"):
        yield url
        return
    with RedisServer(config={"maxmemory-policy": "noeviction"}) as server:
        yield server.url


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _wait(check: Callable[[], bool], what: str, poll: float = 0.02) -> None:
    deadline = time.monotonic() + DEADLINE
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit(f"bench: {what} did not happen within {DEADLINE:.0f} s")
        time.sleep(poll)


def _env(database_url: str, redis_url: str, data_dir: Path) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG", "TMPDIR"}}
    return {
        **keep,
        "PYTHONPATH": str(REPO),
        "MARKET_AI_DATA_DIR": str(data_dir),
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "LOG_LEVEL": "WARNING",
    }


def _stop(children: list[subprocess.Popen[bytes]]) -> None:
    for child in children:
        child.send_signal(signal.SIGTERM)  # all at once: they drain side by side
    for child in children:
        terminate(child, timeout=30)


def _reset(database_url: str, redis_url: str) -> None:
    with psycopg.connect(_libpq(database_url), autocommit=True) as conn:
        conn.execute("DELETE FROM jobs")
    with redis.Redis.from_url(redis_url) as client:
        client.flushdb()


async def _submit(database_url: str, jobs: int) -> tuple[float, float]:
    """Submit `jobs` no-op jobs; returns when the clock started and when the last commit ended.

    The clock starts after the imports and the first connection, which are not the jobs' cost.
    """
    from market_ai.adapters.sql.unit_of_work import SqlUnitOfWork  # noqa: PLC0415
    from market_ai.container import build_container  # noqa: PLC0415
    from market_ai.domain.clock import SystemClock  # noqa: PLC0415
    from market_ai.domain.job_registry import NOOP, default_registry  # noqa: PLC0415
    from market_ai.domain.job_service import SUBMIT_MANY_MAX, JobService  # noqa: PLC0415
    from market_ai.settings import Settings  # noqa: PLC0415

    settings = Settings(_env_file=None, database_url=database_url)
    container = build_container(settings)
    engine = container.engine()
    service = JobService(lambda: SqlUnitOfWork(engine), SystemClock(), default_registry())
    try:
        await service.figures()  # connects, so the clock does not time the first connect
        started = time.perf_counter()
        for start in range(0, jobs, SUBMIT_MANY_MAX):
            await service.submit_many(OWNER, NOOP, [{}] * min(SUBMIT_MANY_MAX, jobs - start))
        return started, time.perf_counter()
    finally:
        await engine.dispose()


def market_ai(
    database_url: str, redis_url: str, *, workers: int, jobs: int, concurrency: int
) -> Result:
    _reset(database_url, redis_url)
    env = _env(database_url, redis_url, Path(tempfile.mkdtemp(prefix="market-ai-bench-")))
    children = [
        subprocess.Popen(
            [*CLI, "worker", "--concurrency", str(concurrency)], env=env, cwd=env["HOME"]
        )
        for _ in range(workers)
    ]
    try:
        with redis.Redis.from_url(redis_url) as client:
            _wait(lambda: client.zcard("market-ai:workers") == workers, "workers starting", 0.1)
        with psycopg.connect(_libpq(database_url), autocommit=True) as conn:
            query = "SELECT count(*) FROM jobs WHERE status = 'succeeded'"

            def done() -> bool:
                row = conn.execute(query).fetchone()
                return row is not None and row[0] == jobs

            started, committed = asyncio.run(_submit(database_url, jobs))
            _wait(done, "every job succeeding")
            seconds = time.perf_counter() - started
            submitted = committed - started
    finally:
        _stop(children)
    return Result("market-ai", workers, jobs, seconds, f"submit {submitted:.2f} s")


# arq and saq: a worker process runs `python bench/jobs.py --serve arq|saq URL CONCURRENCY`.


async def _noop(_ctx: Any, *_args: Any, **_kwargs: Any) -> None:  # noqa: ANN401
    return None


def _serve_arq(redis_url: str, concurrency: int) -> None:
    arq_worker = importlib.import_module("arq.worker")
    connections = importlib.import_module("arq.connections")
    settings = connections.RedisSettings.from_dsn(redis_url)
    arq_worker.run_worker(
        type(
            "Settings",
            (),
            {
                "functions": [arq_worker.func(_noop, name="noop")],
                "redis_settings": settings,
                "max_jobs": concurrency,
                "keep_result": 3600,
                "poll_delay": 0.05,
                "handle_signals": True,
            },
        )
    )


def _serve_saq(redis_url: str, concurrency: int) -> None:
    saq = importlib.import_module("saq")

    async def noop(_ctx: Any) -> None:  # noqa: ANN401
        return None

    async def run() -> None:
        queue = saq.Queue.from_url(redis_url)
        worker = saq.Worker(queue, functions=[("noop", noop)], concurrency=concurrency)
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        task = asyncio.create_task(worker.start())
        await stop.wait()
        await worker.stop()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    asyncio.run(run())


def _other(system: str, redis_url: str, *, jobs: int, concurrency: int) -> Result:
    try:
        importlib.import_module(system)
    except ImportError:
        return Result(system, 1, jobs, 0.0, "not installed: pip install -e '.[bench]'")
    with redis.Redis.from_url(redis_url) as client:
        client.flushdb()
    child = subprocess.Popen(
        [sys.executable, __file__, "--serve", system, redis_url, str(concurrency)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(3.0)  # the worker imports and connects; jobs wait in Redis meanwhile anyway
        seconds = asyncio.run(
            _drive_arq(redis_url, jobs) if system == "arq" else _drive_saq(redis_url, jobs)
        )
    finally:
        _stop([child])
    return Result(system, 1, jobs, seconds, "no database row per job")


async def _drive_arq(redis_url: str, jobs: int) -> float:
    connections = importlib.import_module("arq.connections")
    pool = await connections.create_pool(connections.RedisSettings.from_dsn(redis_url))
    try:
        started = time.perf_counter()
        for _ in range(jobs):
            await pool.enqueue_job("noop")
        results = importlib.import_module("arq.constants").result_key_prefix + "*"
        while len(await pool.keys(results)) < jobs:  # noqa: ASYNC110 - their result records
            await asyncio.sleep(0.05)
        return time.perf_counter() - started
    finally:
        await pool.aclose()


async def _drive_saq(redis_url: str, jobs: int) -> float:
    saq = importlib.import_module("saq")
    queue = saq.Queue.from_url(redis_url)
    await queue.connect()
    try:
        started = time.perf_counter()
        for _ in range(jobs):
            await queue.enqueue("noop")
        while await queue.count("incomplete") > 0:  # noqa: ASYNC110 - their status API
            await asyncio.sleep(0.02)
        return time.perf_counter() - started
    finally:
        await queue.disconnect()


def _migrate(database_url: str, redis_url: str) -> None:
    env = _env(database_url, redis_url, Path(tempfile.mkdtemp(prefix="market-ai-bench-")))
    subprocess.run([*CLI, "migrate"], env=env, check=True, capture_output=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--serve", nargs=3, help=argparse.SUPPRESS)
    args, _ = parser.parse_known_args()
    if args.serve:
        system, url, concurrency = args.serve
        (_serve_arq if system == "arq" else _serve_saq)(url, int(concurrency))
        return 0
    with _postgres() as database_url, _redis() as redis_url:
        _migrate(database_url, redis_url)
        results = [
            market_ai(
                database_url, redis_url, workers=w, jobs=args.jobs, concurrency=args.concurrency
            )
            for w in (1, 2)
        ]
        results += [
            _other(s, redis_url, jobs=args.jobs, concurrency=args.concurrency)
            for s in ("arq", "saq")
        ]
    print(f"{args.jobs} no-op jobs, concurrency {args.concurrency} per worker process")
    print(f"{'system':<10} {'workers':>7} {'seconds':>8} {'jobs/s':>8}  note")
    for r in results:
        print(f"{r.system:<10} {r.workers:>7} {r.seconds:>8.2f} {r.rate:>8.0f}  {r.note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
