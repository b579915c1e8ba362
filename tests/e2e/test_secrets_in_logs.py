"""A real `market-ai serve` at DEBUG, driven through errors: no secret reaches its output."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import make_url

from tests.servers import RedisServer, free_port
from tests.tokens import ISSUER, ORIGIN, hmac_with_public_key, public_pem, rsa_key, sign

pytestmark = pytest.mark.e2e
CLI = [sys.executable, "-m", "market_ai.entrypoints.cli"]
DB_PASSWORD = "db-pw-SECRET-5e6f"
REDIS_PASSWORD = "redis-pw-SECRET-7a8b"
SECRETS = {
    "OPENAI_API_KEY": "sk-openai-SECRET-1a2b",
    "CLERK_SECRET_KEY": "sk_live_clerk-SECRET-3c4d",
    "UNSUBSCRIBE_SECRET": "unsubscribe-links-SECRET-0123456789abcdef",
    "SENTRY_DSN": "https://sentrykey-SECRET-9c0d@o1.ingest.sentry.io/42",
}
NEEDLES = ["-SECRET-", DB_PASSWORD, REDIS_PASSWORD, *SECRETS.values()]


@pytest.fixture
def redis_with_password() -> Iterator[str]:
    config = {"requirepass": REDIS_PASSWORD, "maxmemory-policy": "noeviction"}
    with RedisServer(config=config) as server:
        yield f"redis://:{REDIS_PASSWORD}@127.0.0.1:{server.port}/0"


@pytest.fixture
def env(tmp_path: Path, fresh_postgres_url: str, redis_with_password: str) -> dict[str, str]:
    database = make_url(fresh_postgres_url).set(drivername="postgresql", password=DB_PASSWORD)
    keep = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG", "TMPDIR"}}
    return {
        **keep,
        **SECRETS,
        "APP_ENV": "production",
        "LOG_LEVEL": "DEBUG",
        "MARKET_AI_DATA_DIR": str(tmp_path),
        "DATABASE_URL": database.render_as_string(hide_password=False),
        "REDIS_URL": redis_with_password,
        "CLERK_JWT_KEY": public_pem(rsa_key("clerk-1")),
        "CLERK_ISSUER": ISSUER,
        "ALLOWED_ORIGINS": ORIGIN,
    }


def drive(base: str) -> str:
    """Requests that hit every error path a client can reach; returns the valid token used."""
    key = rsa_key("clerk-1")
    good = sign(key)
    bad = {
        "none": "",
        "garbage": "Bearer not-a-jwt",
        "forged": f"Bearer {hmac_with_public_key(key)}",
        "expired": f"Bearer {sign(key, exp=1_000_000, iat=999_000, nbf=999_000)}",
        "stranger": f"Bearer {sign(rsa_key('stranger'))}",
    }
    with httpx.Client(base_url=base, timeout=10) as client:
        for path in ("/health", "/health/ready", "/health/detailed", "/schema", "/nowhere"):
            client.get(path)
        for header in bad.values():
            assert (
                client.get("/api/campaigns", headers={"Authorization": header}).status_code == 401
            )
        auth = {"Authorization": f"Bearer {good}", "Origin": ORIGIN}
        created = client.post(
            "/api/campaigns", json={"name": "Go", "channel": "email"}, headers=auth
        )
        assert created.status_code == 201, created.text
        assert client.post("/api/campaigns", json={"name": ""}, headers=auth).status_code in {
            400,
            422,
        }
        missing = "/api/campaigns/00000000-0000-0000-0000-000000000000"
        assert client.patch(missing, json={"name": "x"}, headers=auth).status_code == 404
        too_big = client.post("/api/campaigns", content=b"x" * 2_000_000, headers=auth)
        assert too_big.status_code == 413
    return good


def wait_until_up(base: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, f"serve exited with {process.returncode}"
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"{base}/health/ready", timeout=1).status_code == 200:
                return
        time.sleep(0.1)
    pytest.fail("serve did not become ready")


def test_no_secret_in_migrate_or_serve_output(env: dict[str, str], tmp_path: Path) -> None:
    migrate = subprocess.run(
        [*CLI, "migrate"], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert migrate.returncode == 0, migrate.stderr
    port = free_port()
    out, err = tmp_path / "serve.out", tmp_path / "serve.err"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        process = subprocess.Popen(
            [*CLI, "serve", "--port", str(port)],
            env=env,
            cwd=tmp_path,
            stdout=stdout,
            stderr=stderr,
            start_new_session=True,
        )
        try:
            wait_until_up(f"http://127.0.0.1:{port}", process)
            token = drive(f"http://127.0.0.1:{port}")
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)
    served = out.read_text() + err.read_text()
    events = [json.loads(line)["event"] for line in served.splitlines() if line.startswith("{")]
    assert "request" in events, "DEBUG output was captured, as JSON lines"
    everything = migrate.stdout + migrate.stderr + served
    for needle in [*NEEDLES, token]:
        assert needle not in everything, f"{needle!r} leaked into the output"
