"""`market-ai monitor` against live `market-ai serve` processes and a loopback webhook."""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.e2e.test_cli_serve import wait_until_up
from tests.e2e.test_cli_worker import CLI, cli, job_env, wait_for
from tests.live_app import serving
from tests.servers import free_port

pytestmark = pytest.mark.e2e


class Hook(ThreadingHTTPServer):
    alerts: list[str]


class _Receiver(BaseHTTPRequestHandler):
    server: Hook

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.alerts.append(body["text"])
        self.send_response(200)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        _ = format, args


@pytest.fixture
def hook() -> Iterator[Hook]:
    server = Hook(("127.0.0.1", 0), _Receiver)
    server.alerts = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def test_one_check_prints_a_verdict_and_exits_non_zero_when_down(tmp_path: Path) -> None:
    env = job_env(tmp_path)
    with serving(tmp_path) as base:
        up = cli(env, "monitor", base)
    assert up.returncode == 0, up.stderr
    [line] = up.stdout.splitlines()
    assert line.startswith(f"UP {base}: ready in ")
    assert "jobs: 0 queued, 0 dead" in line
    down = cli(env, "monitor", base, "--timeout", "2")
    assert down.returncode == 1
    [line] = down.stdout.splitlines()
    assert line.startswith(f"DOWN {base}: no answer (ready: no answer (ConnectError))")


def test_watch_alerts_only_when_the_state_changes(tmp_path: Path, hook: Hook) -> None:
    port = free_port()
    env = job_env(tmp_path, JOB_MAX_ATTEMPTS="1", JOB_LEASE_SECONDS="30")

    @contextlib.contextmanager
    def serve() -> Iterator[None]:
        """`market-ai serve` on the same port each time, as a restarted instance would be."""
        process = subprocess.Popen([*CLI, "serve", "--port", str(port)], env=env, cwd=tmp_path)
        try:
            wait_until_up(base, process)
            yield
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)

    webhook = f"http://127.0.0.1:{hook.server_address[1]}/hook"
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "monitor.log"
    watcher: subprocess.Popen[bytes] | None = None
    try:
        with serve():
            with log.open("w") as out:
                watcher = subprocess.Popen(
                    [
                        *CLI,
                        "monitor",
                        base,
                        "--watch",
                        "0.2",
                        "--timeout",
                        "2",
                        "--webhook",
                        webhook,
                    ],
                    env=env,
                    stdout=out,
                )
            wait_for(lambda: "UP " in log.read_text())
            assert hook.alerts == []  # a steady state says nothing
        wait_for(lambda: len(hook.alerts) == 1)
        with serve():
            wait_for(lambda: len(hook.alerts) == 2)
            enqueued = cli(env, "jobs", "enqueue", "flaky", "--payload", '{"fail_times": 9}')
            assert enqueued.returncode == 0, enqueued.stderr
            wait_for(lambda: len(hook.alerts) == 3)
            lines_before = len(log.read_text().splitlines())
            wait_for(lambda: len(log.read_text().splitlines()) > lines_before + 3)
        assert watcher is not None
        watcher.send_signal(signal.SIGTERM)
        assert watcher.wait(timeout=10) == 0
    finally:
        if watcher is not None and watcher.poll() is None:
            watcher.kill()
            watcher.wait(timeout=10)
    down, recovered, warn, *more = hook.alerts
    assert "market-ai DOWN" in down
    assert f"{base} was up, is down" in down
    assert "now: ready: no answer" in down
    assert "market-ai RECOVERED" in recovered
    assert "cleared: ready: no answer" in recovered
    assert "market-ai WARN" in warn
    assert "was up, is warn — now: 1 dead job" in warn
    assert more in (
        [],
        [f":red_circle: market-ai DOWN: {base} was warn, is down — {down.split('— ')[1]}"],
    )
