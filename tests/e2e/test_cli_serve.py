"""`market-ai` as operators run it: real processes, real sockets."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.servers import free_port

pytestmark = pytest.mark.e2e
CLI = [sys.executable, "-m", "market_ai.entrypoints.cli"]


def clean_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """The parent's environment minus any market-ai setting, plus the given ones."""
    keep = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG", "TMPDIR"}}
    return {**keep, "MARKET_AI_DATA_DIR": str(data_dir), "LOG_LEVEL": "WARNING", **extra}


def wait_until_up(base: str, process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"server exited early with {process.returncode}")
        try:
            if httpx.get(f"{base}/health", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    pytest.fail("server did not answer /health in time")


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[bytes], Path]]:
    port = free_port()
    env = clean_env(tmp_path, PORT=str(port))
    process = subprocess.Popen([*CLI, "serve"], env=env, cwd=tmp_path)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base, process)
        yield base, process, tmp_path
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


def test_serve_runs_the_campaign_api_on_embedded_defaults(
    served: tuple[str, subprocess.Popen[bytes], Path],
) -> None:
    base, process, data_dir = served
    token = subprocess.run(
        [*CLI, "token", "--user", "alice"],
        env=clean_env(data_dir),
        capture_output=True,
        check=True,
        text=True,
    ).stdout.strip()
    headers = {"Authorization": f"Bearer {token}"}
    ready = httpx.get(f"{base}/health/ready", timeout=5)
    assert ready.status_code == 200
    assert ready.json()["checks"]["database"]["status"] == "pass"
    created = httpx.post(
        f"{base}/api/campaigns",
        json={"name": "Launch", "channel": "social", "budget": "99.99"},
        headers=headers,
        timeout=5,
    )
    assert created.status_code == 201
    listing = httpx.get(f"{base}/api/campaigns", headers=headers, timeout=5)
    assert [c["name"] for c in listing.json()] == ["Launch"]
    assert listing.headers["x-total-count"] == "1"
    assert (data_dir / "market-ai.db").exists()
    assert httpx.get(f"{base}/api/campaigns", timeout=5).status_code == 401

    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0


def test_data_survives_a_restart(tmp_path: Path) -> None:
    env_token = clean_env(tmp_path)
    token = subprocess.run(
        [*CLI, "token", "--user", "bob"], env=env_token, capture_output=True, check=True, text=True
    ).stdout.strip()
    headers = {"Authorization": f"Bearer {token}"}
    for round_number in range(2):
        port = free_port()
        process = subprocess.Popen(
            [*CLI, "serve", "--port", str(port)], env=clean_env(tmp_path), cwd=tmp_path
        )
        base = f"http://127.0.0.1:{port}"
        try:
            wait_until_up(base, process)
            if round_number == 0:
                httpx.post(
                    f"{base}/api/campaigns",
                    json={"name": "Kept", "channel": "email"},
                    headers=headers,
                    timeout=5,
                ).raise_for_status()
            names = [c["name"] for c in httpx.get(f"{base}/api/campaigns", headers=headers).json()]
            assert names == ["Kept"]
        finally:
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=30) == 0


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DATABASE_URL", "mysql://db/x"),
        ("DB_POOL_MAX_SIZE", "many"),
        ("PORT", "99999"),
        ("LOG_LEVEL", "LOUD"),
        ("ALLOWED_ORIGINS", "*"),
    ],
)
def test_bad_setting_stops_start_up_with_one_line_naming_it(
    tmp_path: Path, variable: str, value: str
) -> None:
    result = subprocess.run(
        [*CLI, "serve"],
        env=clean_env(tmp_path, **{variable: value}),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert variable in lines[0]


def test_production_without_identity_provider_refuses_to_start(tmp_path: Path) -> None:
    result = subprocess.run(
        [*CLI, "serve"],
        env=clean_env(tmp_path, NODE_ENV="production"),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert "CLERK_DOMAIN" in result.stderr


def test_help_lists_the_commands(tmp_path: Path) -> None:
    result = subprocess.run(
        [*CLI, "--help"], env=clean_env(tmp_path), capture_output=True, text=True, check=True
    )
    for command in ("serve", "token"):
        assert command in result.stdout
