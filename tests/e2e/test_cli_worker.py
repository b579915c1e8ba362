"""`market-ai worker` and `market-ai jobs` as real processes on SQLite and a real Redis."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest

from tests.servers import RedisServer, free_port

pytestmark = pytest.mark.e2e
CLI = [sys.executable, "-m", "market_ai.entrypoints.cli"]
REPO = Path(__file__).resolve().parents[2]


def job_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """No inherited market-ai settings; the test handlers importable; short leases."""
    keep = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG", "TMPDIR"}}
    return {
        **keep,
        "PYTHONPATH": str(REPO),
        "MARKET_AI_DATA_DIR": str(data_dir),
        "LOG_LEVEL": "WARNING",
        "JOB_HANDLER_MODULES": "tests.job_fakes",
        "JOB_RECORD_FILE": str(data_dir / "record.jsonl"),
        "JOB_LEASE_SECONDS": "1",
        "WORKER_GRACE_SECONDS": "0.5",
        **extra,
    }


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def enqueue(
    env: dict[str, str], job_type: str, payload: dict[str, Any], count: int = 1
) -> list[str]:
    result = cli(
        env, "jobs", "enqueue", job_type, "--payload", json.dumps(payload), "--count", str(count)
    )
    assert result.returncode == 0, result.stderr
    ids = result.stdout.split()
    assert [str(UUID(i)) for i in ids] == ids
    return ids


def records(data_dir: Path, event: str) -> list[dict[str, Any]]:
    path = data_dir / "record.jsonl"
    if not path.exists():
        return []
    found = []
    for line in path.read_text().splitlines():
        with contextlib.suppress(json.JSONDecodeError):  # a line still being written
            found.append(json.loads(line))
    return [line for line in found if line["event"] == event]


def wait_for(check: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail("condition not met in time")
        time.sleep(0.05)


@contextlib.contextmanager
def process(env: dict[str, str], *args: str) -> Iterator[subprocess.Popen[bytes]]:
    """A market-ai process, killed and reaped at the end whatever happened."""
    child = subprocess.Popen([*CLI, *args], env=env, cwd=env["MARKET_AI_DATA_DIR"])
    try:
        yield child
    finally:
        if child.poll() is None:
            child.kill()
        child.wait(timeout=10)


def terminate(child: subprocess.Popen[bytes], timeout: float = 10) -> int:
    """SIGTERM, and the exit code once it has drained."""
    child.send_signal(signal.SIGTERM)
    return child.wait(timeout=timeout)


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    with RedisServer(config={"maxmemory-policy": "noeviction"}) as server:
        yield server


def test_the_worker_refuses_an_evicting_redis_in_one_line(tmp_path: Path) -> None:
    with RedisServer(config={"maxmemory-policy": "allkeys-lru"}) as server:
        result = cli(job_env(tmp_path, REDIS_URL=server.url), "worker")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("market-ai: Redis maxmemory-policy is allkeys-lru")
    assert "noeviction" in lines[0]


def test_workers_run_jobs_and_a_sigterm_hands_the_long_one_to_the_next(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    env = job_env(tmp_path, REDIS_URL=redis_server.url)
    quick = enqueue(env, "record", {}, count=5)
    with process(env, "worker", "--concurrency", "3") as first:
        wait_for(lambda: len(records(tmp_path, "finish")) == 5)
        [slow] = enqueue(env, "record", {"seconds": 3})
        wait_for(lambda: any(r["job_id"] == slow for r in records(tmp_path, "start")))
        assert terminate(first) == 0  # drained: 0.5 s grace, then handed back
    assert {r["job_id"] for r in records(tmp_path, "finish")} == set(quick)
    assert not any(r["job_id"] == slow for r in records(tmp_path, "finish"))

    with process(env, "worker") as second:
        wait_for(lambda: any(r["job_id"] == slow for r in records(tmp_path, "finish")))
        assert terminate(second) == 0
    finished = [r for r in records(tmp_path, "finish") if r["job_id"] == slow]
    assert [r["attempt"] for r in finished] == [2]  # completed exactly once, by the next worker
    assert cli(env, "jobs", "dead").stdout == "no dead jobs\n"


def test_embedded_jobs_survive_a_killed_serve_process(tmp_path: Path) -> None:
    port = free_port()
    # The test polls job status faster than the API's default allowance (100 a minute).
    env = job_env(tmp_path, PORT=str(port), RATE_LIMIT_ENABLED="false")
    [long_job] = enqueue(env, "record", {"seconds": 2})
    waiting = enqueue(env, "record", {}, count=2)  # written while no server runs
    token = cli(env, "token", "--user", "operator").stdout.strip()
    headers = {"Authorization": f"Bearer {token}"}

    def status(job_id: str) -> str:
        try:
            response = httpx.get(f"http://127.0.0.1:{port}/api/jobs/{job_id}", headers=headers)
        except httpx.TransportError:
            return "down"
        return str(response.json()["status"]) if response.status_code == 200 else "?"

    with process(env, "serve") as first:
        wait_for(lambda: any(r["job_id"] == long_job for r in records(tmp_path, "start")))
        first.kill()  # SIGKILL mid-job: no drain, no hand-back
    with process(env, "serve") as second:
        for job_id in (long_job, *waiting):
            wait_for(lambda job_id=job_id: status(job_id) == "succeeded")
        assert terminate(second, timeout=30) == 0
    finished = {r["job_id"] for r in records(tmp_path, "finish")}
    assert finished == {long_job, *waiting}


def test_jobs_prune_deletes_succeeded_jobs_past_the_retention(tmp_path: Path) -> None:
    env = job_env(tmp_path, JOB_RETENTION_DAYS="30")
    assert cli(env, "migrate").returncode == 0
    old, recent, dead = enqueue(env, "noop", {}, count=3)
    with sqlite3.connect(tmp_path / "market-ai.db") as db:
        finish = "UPDATE jobs SET status = ?, finished_at = ? WHERE id = ?"
        db.execute(finish, ("succeeded", "2020-01-01 00:00:00.000000", old.replace("-", "")))
        db.execute(finish, ("succeeded", "2999-01-01 00:00:00.000000", recent.replace("-", "")))
        db.execute(finish, ("dead", "2020-01-01 00:00:00.000000", dead.replace("-", "")))
    pruned = cli(env, "jobs", "prune")
    assert pruned.returncode == 0, pruned.stderr
    assert pruned.stdout == "jobs\t1\nspend_ledger\t0\n"
    with sqlite3.connect(tmp_path / "market-ai.db") as db:
        left = {row[0] for row in db.execute("SELECT status FROM jobs")}
    assert left == {"succeeded", "dead"}
