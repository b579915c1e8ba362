"""Sentry against a loopback server that receives the SDK's envelopes: what is sent, and not."""

from __future__ import annotations

import gzip
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.e2e.test_cli_worker import REPO, job_env

pytestmark = pytest.mark.e2e
SECRET = "sk-test-SECRET-0123456789abcdef"
BEARER = "Bearer eyJhbGciOiJSUzI1NiJ9.leaked.signature"


class Envelopes(ThreadingHTTPServer):
    received: list[str]


class _Receiver(BaseHTTPRequestHandler):
    server: Envelopes

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        self.server.received.append(f"{self.path}\n{body.decode()}")
        self.send_response(200)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        _ = format, args


@pytest.fixture
def receiver() -> Iterator[Envelopes]:
    server = Envelopes(("127.0.0.1", 0), _Receiver)
    server.received = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def test_errors_and_dead_jobs_reach_sentry_without_pii_bodies_or_secrets(
    tmp_path: Path, receiver: Envelopes
) -> None:
    port = receiver.server_address[1]
    env = job_env(
        tmp_path,
        SENTRY_DSN=f"http://public@127.0.0.1:{port}/1",
        APP_VERSION="9.9.9",
        APP_ENV="staging",
        OPENAI_API_KEY=SECRET,
        DATABASE_URL="memory://",
        JOB_HANDLER_MODULES="tests.sentry_probe",
    )
    result = subprocess.run(
        [sys.executable, "-m", "tests.sentry_probe", BEARER],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    sent = "\n".join(receiver.received)
    assert all(r.startswith("/api/1/envelope/") for r in receiver.received)
    assert '"type":"RuntimeError"' in sent.replace(" ", "")  # the HTTP error, as an exception
    assert "exploding_create" in sent  # with its stack trace
    assert "job explode is dead" in sent  # the job that went dead
    assert '"release":"9.9.9"' in sent.replace(" ", "")
    assert '"environment":"staging"' in sent.replace(" ", "")
    assert "click-99" in sent  # the failed request's id, as a tag
    assert "click-77" in sent  # the id of the request that enqueued the dead job
    assert SECRET not in sent
    assert "leaked.signature" not in sent
    assert "[Filtered]" in sent
    assert "BODY-MARKER" not in sent  # no request body
    assert "alice@example.com" not in sent
    assert '"user"' not in sent
    assert "Authorization" not in sent
