"""Postgres restarts under a busy worker sending email: nothing lost, nothing sent twice.

A real `market-ai worker` process sends 150 one-recipient emails to a loopback SMTP sink
that takes a moment per message; Postgres (with production's synchronous_commit=on) is
stopped (immediate) once some are out and started again 5 s later. Sends the server
accepted during the outage are recorded when the database is back (the record is retried
in process), so none is sent again.
The figures land in the test report (`-rA`): delivered, duplicates, seconds.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from market_ai.container import build_container, stop
from market_ai.domain.campaign_service import CampaignDraft
from market_ai.domain.campaigns import Channel
from tests.conftest import make_settings
from tests.servers import PostgresServer, RedisServer, terminate
from tests.smtp_sink import SmtpSink, smtp_sink

pytestmark = pytest.mark.integration
CLI = [sys.executable, "-m", "market_ai.entrypoints.cli"]
EMAILS = 150
OUTAGE_SECONDS = 5.0
DONE_WITHIN = 180.0  # generous: how fast the backlog resumes is not what this test checks


@pytest.fixture
def servers() -> Iterator[tuple[PostgresServer, RedisServer]]:
    postgres = PostgresServer()
    redis = RedisServer(config={"maxmemory-policy": "noeviction"})
    postgres.start()
    redis.start()
    try:
        yield postgres, redis
    finally:
        redis.remove()
        postgres.remove()


def _env(
    data_dir: Path, postgres: PostgresServer, redis: RedisServer, sink: SmtpSink
) -> dict[str, str]:
    keep = {
        k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG", "TMPDIR", "PYTHONPATH"}
    }
    return {
        **keep,
        "MARKET_AI_DATA_DIR": str(data_dir),
        "DATABASE_URL": postgres.url,
        "REDIS_URL": redis.url,
        "SMTP_URL": sink.url,
        "SMTP_STARTTLS": "never",
        "MAIL_FROM": "noreply@corp.example",
        "EMAIL_RECIPIENTS_PER_DAY": str(EMAILS),
        "WORKER_CONCURRENCY": "10",
        "DB_POOL_TIMEOUT": "3",
        "JOB_REPUBLISH_AFTER_SECONDS": "5",
        "LOG_LEVEL": "INFO",
    }


async def _enqueue(env: dict[str, str], data_dir: Path) -> None:
    settings = make_settings(
        data_dir,
        database_url=env["DATABASE_URL"],
        redis_url=env["REDIS_URL"],
        email_recipients_per_day=EMAILS,
    )
    container = build_container(settings)
    try:
        campaign = await container.campaign_service().create(
            "alice", CampaignDraft(name="Launch", channel=Channel.EMAIL)
        )
        mail = container.mail_service()
        for i in range(EMAILS):
            await mail.request(
                "alice", campaign.id, to=[f"user{i}@example.com"], subject="Hi", body="Hello.\n"
            )
    finally:
        await stop(container)


async def _durable_commits(url: str) -> None:
    """Production's default: a commit is acknowledged once its WAL is written.

    The test servers run with synchronous_commit=off for speed, and an immediate stop
    then loses commits already acknowledged: records of sends would vanish, which no
    application can guard against. This drill is about the application, so it restores
    the production setting for its database (it persists across the restart).
    """
    engine = create_async_engine(_driver(url), isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        async with engine.connect() as conn:
            name = (await conn.execute(text("SELECT current_database()"))).scalar_one()
            # A database's own setting wins over the server's command line.
            await conn.execute(text(f'ALTER DATABASE "{name}" SET synchronous_commit = on'))
        async with engine.connect() as conn:  # a new session: database settings apply
            shown = (await conn.execute(text("SHOW synchronous_commit"))).scalar_one()
        assert shown == "on"
    finally:
        await engine.dispose()


def _driver(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


async def _unfinished(url: str) -> int:
    engine = create_async_engine(_driver(url))
    try:
        async with engine.connect() as conn:
            query = text("SELECT count(*) FROM jobs WHERE status NOT IN ('succeeded', 'dead')")
            return int((await conn.execute(query)).scalar_one())
    except Exception:  # noqa: BLE001 - the database may be on its way back
        return -1
    finally:
        await engine.dispose()


def _wait(check: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        if time.monotonic() > deadline:
            pytest.fail(f"{what} not within {timeout:g}s")
        time.sleep(0.1)


def test_a_postgres_restart_under_a_busy_worker_sends_no_email_twice(
    servers: tuple[PostgresServer, RedisServer], tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    postgres, redis = servers
    with smtp_sink(delay=0.2) as sink:
        env = _env(tmp_path, postgres, redis, sink)
        subprocess.run([*CLI, "migrate"], env=env, check=True, capture_output=True, timeout=60)
        asyncio.run(_durable_commits(postgres.url))
        asyncio.run(_enqueue(env, tmp_path))
        started = time.monotonic()
        log = tmp_path / "worker.log"  # kept with the test's tmp_path for a post-mortem
        with log.open("wb") as output:
            worker = subprocess.Popen(
                [*CLI, "worker"], env=env, cwd=tmp_path, stdout=output, stderr=subprocess.STDOUT
            )
        try:
            _wait(lambda: len(sink.received) >= EMAILS // 5, 60, "the first emails")
            postgres.stop("immediate")
            time.sleep(OUTAGE_SECONDS)
            postgres.start()
            _wait(
                lambda: asyncio.run(_unfinished(postgres.url)) == 0,
                DONE_WITHIN,
                "every job finished",
            )
            took = time.monotonic() - started
        finally:
            terminate(worker, timeout=30)
        ids = sink.message_ids()
        duplicates = sink.duplicates()
    request.node.user_properties.extend(
        [("delivered", len(ids)), ("duplicates", duplicates), ("seconds", round(took, 1))]
    )
    print(f"mail drill: delivered={len(ids)} duplicates={duplicates} seconds={took:.1f}")  # noqa: T201
    assert len(ids) == EMAILS  # nothing lost
    twice = sorted(mid for mid, count in ids.items() if count > 1)
    assert duplicates == 0, f"{duplicates} emails went out twice: {twice} (see {log})"
