"""An adapter the settings do not select is never imported (memory and start-up time)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

PROBE = """
import asyncio, json, sys
from market_ai.container import build_container, start, stop
from market_ai.entrypoints.http.app import create_app
from market_ai.settings import Settings

settings = Settings(_env_file=None, database_url=sys.argv[1], data_dir=sys.argv[2])
container = build_container(settings)
create_app(container)

async def run() -> None:
    await start(container)
    await container.campaign_service().list("u")
    await stop(container)

asyncio.run(run())
print(json.dumps(sorted(sys.modules)))
"""
HEAVY = {"openai", "redis", "aiosmtplib", "alembic", "httpx"}


def _loaded(database_url: str, data_dir: Path) -> set[str]:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, database_url, str(data_dir)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        env={"PATH": "", "PYTHONPATH": ":".join(sys.path)},
    )
    return {name.split(".")[0] for name in json.loads(result.stdout.splitlines()[-1])}


def test_memory_storage_loads_no_database_queue_mail_or_model_client(tmp_path: Path) -> None:
    loaded = _loaded("memory://", tmp_path)
    assert loaded.isdisjoint(HEAVY | {"sqlalchemy", "psycopg", "aiosqlite"})


def test_postgres_serving_loads_no_sqlite_queue_mail_model_client_or_alembic(
    tmp_path: Path, fresh_postgres_url: str
) -> None:
    subprocess.run(
        [sys.executable, "-m", "market_ai.entrypoints.cli", "migrate"],
        env={"PATH": "", "PYTHONPATH": ":".join(sys.path), "DATABASE_URL": fresh_postgres_url},
        check=True,
        capture_output=True,
        timeout=60,
    )
    loaded = _loaded(fresh_postgres_url, tmp_path)
    assert "psycopg" in loaded
    assert loaded.isdisjoint(HEAVY | {"aiosqlite"})
