"""SIGTERM under load: every write the database committed was answered to its client.

32 connections keep creating campaigns on Postgres; the server is told to stop. Clients whose
request was read must get their answer (with `Connection: close`), new connections are
refused, and the process exits inside its grace period. A committed row with no answer is
a client that will retry and duplicate, so rows must equal 201 answers.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import psycopg
import pytest
from sqlalchemy.engine import make_url

from tests.servers import free_port, terminate

pytestmark = pytest.mark.e2e
CLI = [sys.executable, "-m", "market_ai.entrypoints.cli"]
CONNECTIONS = 32
GRACE = 25.0


def _env(data_dir: Path, database_url: str) -> dict[str, str]:
    keep = {
        k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG", "TMPDIR", "PYTHONPATH"}
    }
    return {
        **keep,
        "MARKET_AI_DATA_DIR": str(data_dir),
        "DATABASE_URL": database_url,
        "DB_POOL_MIN_SIZE": "5",
        "DB_POOL_MAX_SIZE": "20",
        "RATE_LIMIT_ENABLED": "false",
        "LOG_LEVEL": "WARNING",
    }


def _servers() -> list[str]:
    """Every --server choice this installation can run (the fast ones come with an extra)."""
    choices = ["hypercorn"]
    for name in ("uvicorn", "granian"):
        try:
            __import__(name)
        except ImportError:
            continue
        choices.append(name)
    return choices


async def _creator(
    base: str, headers: dict[str, str], answered: list[int], stop: asyncio.Event
) -> None:
    """One connection creating campaigns until the server goes away.

    A 503 is an honest answer while the server stops (nothing was written, retry elsewhere).
    """
    async with httpx.AsyncClient(
        base_url=base, headers=headers, timeout=GRACE + 5, limits=httpx.Limits(max_connections=1)
    ) as client:
        while not stop.is_set():
            try:
                response = await client.post(
                    "/api/campaigns", json={"name": "drain", "channel": "email"}
                )
            except httpx.TransportError:
                await asyncio.sleep(0.01)  # refused or closed: a fresh connection next time
                continue
            if response.status_code == 201:
                answered.append(1)
            elif response.status_code == 503:
                assert response.headers["connection"] == "close"
            else:
                pytest.fail(f"unexpected {response.status_code}: {response.text}")


async def _load_then_stop(
    base: str, headers: dict[str, str], process: subprocess.Popen[bytes]
) -> tuple[int, float]:
    answered: list[int] = []
    stop = asyncio.Event()
    tasks = [
        asyncio.create_task(_creator(base, headers, answered, stop)) for _ in range(CONNECTIONS)
    ]
    while len(answered) < 200:  # the load is on before the signal
        await asyncio.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    signalled = time.monotonic()
    while process.poll() is None and time.monotonic() - signalled < GRACE + 5:
        await asyncio.sleep(0.05)
    took = time.monotonic() - signalled
    stop.set()
    await asyncio.gather(*tasks)
    return len(answered), took


def _rows(database_url: str) -> int:
    dsn = make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn) as conn:
        row = conn.execute("SELECT count(*) FROM campaigns").fetchone()
    assert row is not None
    count: int = row[0]
    return count


@pytest.mark.integration
@pytest.mark.parametrize(
    ("server", "workers"),
    [*((name, 1) for name in _servers()), ("hypercorn", 2)],  # 2: the Render blueprint's
)
def test_sigterm_answers_every_committed_write(
    tmp_path: Path, fresh_postgres_url: str, server: str, workers: int
) -> None:
    env = _env(tmp_path, fresh_postgres_url)
    subprocess.run([*CLI, "migrate"], env=env, check=True, capture_output=True, timeout=60)
    token = subprocess.run(
        [*CLI, "token", "--user", "u"], env=env, check=True, capture_output=True, text=True
    ).stdout.strip()
    port = free_port()
    process = subprocess.Popen(
        [*CLI, "serve", "--port", str(port), "--server", server, "--workers", str(workers)],
        env=env,
        cwd=tmp_path,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _until(lambda: httpx.get(f"{base}/health", timeout=2).status_code == 200, 30)
        answered, took = asyncio.run(
            _load_then_stop(base, {"Authorization": f"Bearer {token}"}, process)
        )
        assert process.poll() == 0
        assert took < GRACE
    finally:
        terminate(process, timeout=30)
    assert _rows(fresh_postgres_url) == answered


def _until(check: Callable[[], bool], timeout: float) -> None:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        try:
            if check():
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    pytest.fail(f"condition not met within {timeout:g}s")
