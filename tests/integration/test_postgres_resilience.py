"""Postgres stops under a running `market-ai serve`: 503s, no hangs; back: 200s, same PID.

And a pooled connection that died while idle is replaced before anyone uses it.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine.interfaces import DBAPIConnection

from market_ai.adapters.sql.engine import PING_AFTER_IDLE, create_engine
from market_ai.container import build_container, stop
from market_ai.domain.errors import Unavailable
from tests.conftest import make_settings
from tests.servers import PostgresServer, free_port, terminate

pytestmark = pytest.mark.integration
CLI = [sys.executable, "-m", "market_ai.entrypoints.cli"]
POOL_TIMEOUT = 3.0
MARGIN = 2.0  # scheduling noise on a busy test machine, not part of the promise
CLIENT_TIMEOUT = 20.0  # far above the promise, so a hang shows as a failed assertion


@dataclass(frozen=True)
class Served:
    base: str
    process: subprocess.Popen[bytes]
    headers: dict[str, str]
    postgres: PostgresServer


def _env(data_dir: Path, database_url: str) -> dict[str, str]:
    keep = {
        k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG", "TMPDIR", "PYTHONPATH"}
    }
    return {
        **keep,
        "MARKET_AI_DATA_DIR": str(data_dir),
        "DATABASE_URL": database_url,
        "DB_POOL_MIN_SIZE": "2",
        "DB_POOL_MAX_SIZE": "5",
        "DB_POOL_TIMEOUT": str(POOL_TIMEOUT),
        "LOG_LEVEL": "WARNING",
    }


def _until(check: Callable[[], bool], timeout: float) -> float:
    """Poll `check` until it holds; return how long that took."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        try:
            if check():
                return time.monotonic() - started
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    pytest.fail(f"condition not met within {timeout:g}s")


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    postgres = PostgresServer()
    postgres.start()
    env = _env(tmp_path, postgres.url)
    process: subprocess.Popen[bytes] | None = None
    try:
        subprocess.run([*CLI, "migrate"], env=env, check=True, capture_output=True, timeout=60)
        token = subprocess.run(
            [*CLI, "token", "--user", "u"], env=env, check=True, capture_output=True, text=True
        ).stdout.strip()
        port = free_port()
        process = subprocess.Popen([*CLI, "serve", "--port", str(port)], env=env, cwd=tmp_path)
        base = f"http://127.0.0.1:{port}"
        _until(lambda: httpx.get(f"{base}/health/ready", timeout=2).status_code == 200, 30)
        yield Served(base, process, {"Authorization": f"Bearer {token}"}, postgres)
    finally:
        if process is not None:
            terminate(process, timeout=30)
        postgres.remove()


def measured(request: pytest.FixtureRequest, name: str, seconds: float) -> None:
    """Keep the figure with the test's report (junit XML properties, `-rA` sections)."""
    request.node.user_properties.append((name, round(seconds, 3)))


def _timed(call: Callable[[], httpx.Response]) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


def test_the_same_process_answers_503_while_postgres_is_down_and_200_once_it_is_back(
    served: Served, request: pytest.FixtureRequest
) -> None:
    base, headers = served.base, served.headers
    pid = served.process.pid
    made = httpx.post(
        f"{base}/api/campaigns", json={"name": "Before", "channel": "email"}, headers=headers
    )
    assert made.status_code == 201

    served.postgres.stop("immediate")

    ready, ready_took = _timed(lambda: httpx.get(f"{base}/health/ready", timeout=CLIENT_TIMEOUT))
    assert ready.status_code == 503
    assert ready.json()["checks"]["database"]["status"] == "fail"
    assert ready_took < POOL_TIMEOUT + MARGIN
    measured(request, "ready_503_seconds", ready_took)

    for method, body in (("GET", None), ("POST", {"name": "During", "channel": "email"})):

        def call(method: str = method, body: object = body) -> httpx.Response:
            return httpx.request(
                method, f"{base}/api/campaigns", json=body, headers=headers, timeout=CLIENT_TIMEOUT
            )

        answer, took = _timed(call)
        assert answer.status_code == 503, answer.text
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert answer.json()["status"] == 503
        assert "retry-after" in answer.headers
        assert took < POOL_TIMEOUT + MARGIN
        measured(request, f"api_{method.lower()}_503_seconds", took)
    assert httpx.get(f"{base}/health", timeout=CLIENT_TIMEOUT).status_code == 200  # still alive

    served.postgres.start()
    recovered = _until(
        lambda: httpx.get(f"{base}/health/ready", timeout=CLIENT_TIMEOUT).status_code == 200, 15
    )
    measured(request, "recovery_seconds", recovered)
    listing = httpx.get(f"{base}/api/campaigns", headers=headers, timeout=CLIENT_TIMEOUT)
    assert listing.status_code == 200
    after = httpx.post(
        f"{base}/api/campaigns", json={"name": "After", "channel": "email"}, headers=headers
    )
    assert after.status_code == 201
    assert served.process.poll() is None
    assert served.process.pid == pid  # no restart: the same process serves again

    served.process.send_signal(signal.SIGTERM)  # and it still shuts down cleanly
    assert served.process.wait(timeout=30) == 0


async def test_a_server_that_accepts_but_never_answers_costs_a_bounded_wait(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """A black-holed host (no RST, no answer) must not hold requests for minutes."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)  # the kernel completes handshakes; nobody ever speaks
        url = f"postgresql://nobody@127.0.0.1:{silent.getsockname()[1]}/x"
        settings = make_settings(tmp_path, database_url=url, db_pool_timeout=POOL_TIMEOUT)
        container = build_container(settings)
        try:
            started = time.monotonic()
            report = await container.health_service().readiness()
            measured(request, "silent_ready_seconds", time.monotonic() - started)
            assert not report.ready
            assert time.monotonic() - started < POOL_TIMEOUT + MARGIN

            started = time.monotonic()
            with pytest.raises(Unavailable):
                await container.campaign_service().list("u")
            measured(request, "silent_request_seconds", time.monotonic() - started)
            assert time.monotonic() - started < POOL_TIMEOUT + MARGIN
        finally:
            await stop(container)


async def test_an_idle_connection_is_pinged_and_replaced_after_a_restart(tmp_path: Path) -> None:
    """Busy checkouts skip the ping; one idle past a second is pinged and replaced if dead.

    The server restarts while the connection idles; the caller never sees the dead one.
    """
    postgres = PostgresServer()
    postgres.start()
    settings = make_settings(
        tmp_path, database_url=postgres.url, db_pool_min_size=1, db_pool_max_size=1
    )
    engine = create_engine(settings)
    pings: list[DBAPIConnection] = []
    real_ping = engine.dialect.do_ping

    def counted_ping(dbapi_connection: DBAPIConnection) -> bool:
        pings.append(dbapi_connection)
        return real_ping(dbapi_connection)

    engine.dialect.do_ping = counted_ping  # type: ignore[method-assign]
    try:
        async with engine.connect() as conn:
            before = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        for _ in range(5):  # handed back a moment ago: reused as is
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        assert pings == []

        postgres.stop("immediate")
        postgres.start()
        await asyncio.sleep(PING_AFTER_IDLE + 0.2)
        async with engine.connect() as conn:  # no error: the ping found it dead first
            after = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        assert len(pings) == 1
        assert after != before
    finally:
        await engine.dispose()
        postgres.remove()
