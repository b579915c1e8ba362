"""Real `market-ai serve` processes for end-to-end tests: started, awaited, always stopped."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from tests.servers import free_port

CLI = [sys.executable, "-m", "market_ai.entrypoints.cli"]
START_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0


def app_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """The parent's environment minus any market-ai setting, plus the given ones."""
    keep = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG", "TMPDIR"}}
    return {**keep, "MARKET_AI_DATA_DIR": str(data_dir), "LOG_LEVEL": "WARNING", **extra}


def dev_token(data_dir: Path, user: str) -> str:
    """A development token from `market-ai token` (creates the signing key on first use)."""
    return subprocess.run(
        [*CLI, "token", "--user", user],
        env=app_env(data_dir),
        capture_output=True,
        check=True,
        text=True,
        timeout=60,
    ).stdout.strip()


def _wait_until_up(base: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"market-ai serve exited early with {process.returncode}")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"{base}/health", timeout=1.0).status_code == 200:
                return
        time.sleep(0.1)
    raise RuntimeError(f"market-ai serve did not answer {base}/health in time")


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the process group (Hypercorn's workers too), SIGKILL it if it lingers."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=STOP_TIMEOUT)


@contextlib.contextmanager
def serving_many(data_dir: Path, count: int, *args: str, **env: str) -> Iterator[list[str]]:
    """Run `count` x `market-ai serve ARGS` on free ports at once; yield their URLs.

    Each runs in its own process group, so stopping it reaches every Hypercorn worker.
    """
    processes: list[tuple[str, subprocess.Popen[bytes]]] = []
    try:
        for _ in range(count):
            port = free_port()
            process = subprocess.Popen(
                [*CLI, "serve", "--port", str(port), *args],
                env=app_env(data_dir, **env),
                cwd=data_dir,
                start_new_session=True,
            )
            processes.append((f"http://127.0.0.1:{port}", process))
        for base, process in processes:  # they start in parallel; wait for each in turn
            _wait_until_up(base, process)
        yield [base for base, _ in processes]
    finally:
        for _, process in processes:
            _stop(process)


@contextlib.contextmanager
def serving(data_dir: Path, *args: str, **env: str) -> Iterator[str]:
    """Run one `market-ai serve ARGS` on a free port; yield its URL."""
    with serving_many(data_dir, 1, *args, **env) as bases:
        yield bases[0]
