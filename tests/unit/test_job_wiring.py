"""How settings assemble the job system: queue choice, probes, registry, settings, the CLI."""

from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path
from uuid import uuid4

import pytest

from market_ai.adapters.memory.job_queue import InMemoryJobQueue
from market_ai.adapters.redis.queue import RedisJobQueue
from market_ai.container import build_container, queue_kind, start, stop
from market_ai.entrypoints.cli import main
from market_ai.entrypoints.worker import build_worker
from market_ai.entrypoints.worker.embedded import runs_embedded
from market_ai.settings import Settings, SettingsError, load_settings
from tests.conftest import make_settings

UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"
UUID_START = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-")


def test_without_redis_the_queue_lives_in_the_process(tmp_path: Path) -> None:
    container = build_container(make_settings(tmp_path))
    assert queue_kind(container.settings()) == "memory"
    assert isinstance(container.job_queue(), InMemoryJobQueue)
    assert container.job_queue() is container.job_queue()  # one queue per process
    assert [p.name for p in container.readiness_probes()] == ["database"]
    assert runs_embedded(container.settings())


def test_redis_url_selects_the_streams_queue_and_its_probe(tmp_path: Path) -> None:
    container = build_container(make_settings(tmp_path, redis_url=UNREACHABLE_REDIS))
    assert isinstance(container.job_queue(), RedisJobQueue)  # built, not connected
    assert [p.name for p in container.readiness_probes()] == ["database", "redis"]
    assert [p.name for p in container.health_service()._probes] == ["database", "redis"]
    assert not runs_embedded(container.settings())
    assert not runs_embedded(make_settings(tmp_path, worker_embedded=False))


async def test_stop_closes_the_redis_client(tmp_path: Path) -> None:
    container = build_container(make_settings(tmp_path, redis_url=UNREACHABLE_REDIS))
    client = container.redis_client()
    await stop(container)
    assert container.redis_client() is not client  # a closed client is never handed out again
    await stop(container)


def test_job_settings_and_their_worker(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path,
        job_lease_seconds=12,
        job_max_attempts=3,
        job_retry_base_seconds=1,
        job_retry_max_seconds=10,
        worker_concurrency=7,
        job_handler_modules="tests.job_fakes",
    )
    container = build_container(settings)
    assert {"record", "flaky", "noop", "send_email"} <= set(container.job_registry())
    assert container.retry_policy().ceiling(10) == 10
    worker = build_worker(container, consumer="named")
    assert worker.name == "named"
    assert worker._concurrency == 7
    assert worker._timings.lease_seconds == 12
    assert build_worker(container, concurrency=2)._concurrency == 2


def test_job_settings_have_safe_defaults() -> None:
    settings = Settings(_env_file=None)
    assert (settings.job_lease_seconds, settings.job_max_attempts) == (30, 5)
    assert (settings.job_max_deliveries, settings.job_republish_after_seconds) == (5, 60)
    assert (settings.job_retry_base_seconds, settings.job_retry_max_seconds) == (2, 300)
    assert (settings.worker_concurrency, settings.worker_grace_seconds) == (10, 25)
    assert settings.worker_embedded
    assert settings.job_handler_modules == []


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"WORKER_GRACE_SECONDS": "30"}, "invalid setting WORKER_GRACE_SECONDS"),
        ({"JOB_LEASE_SECONDS": "0"}, "invalid setting JOB_LEASE_SECONDS"),
        ({"WORKER_CONCURRENCY": "0"}, "invalid setting WORKER_CONCURRENCY"),
        (
            {"JOB_RETRY_BASE_SECONDS": "10", "JOB_RETRY_MAX_SECONDS": "5"},
            "JOB_RETRY_BASE_SECONDS must not exceed JOB_RETRY_MAX_SECONDS",
        ),
    ],
)
def test_bad_job_settings_fail_in_one_line(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], message: str
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(SettingsError) as caught:
        load_settings(_env_file=None)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for key in list(os.environ):
        if key.upper().startswith(("JOB_", "WORKER_", "DATABASE_URL", "REDIS_URL")):
            monkeypatch.delenv(key)
    monkeypatch.setenv("MARKET_AI_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("LOG_LEVEL", "WARNING")
    monkeypatch.chdir(tmp_path)
    # main() configures process-wide logging; keep this test process's configuration as is.
    for module in ("cli", "job_commands"):
        monkeypatch.setattr(f"market_ai.entrypoints.{module}.configure_logging", _leave_logging)
    return tmp_path


def _leave_logging(*_: object, **__: object) -> None:
    """Stands in for configure_logging: the test process keeps its own configuration."""


def data(out: str) -> list[str]:
    """The lines a command printed as its result (log lines may share stdout in tests)."""
    return [line for line in out.splitlines() if UUID_START.match(line)]


def test_cli_enqueues_lists_dead_and_retries(
    cli_env: Path,  # noqa: ARG001 - sets the environment up
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["jobs", "enqueue", "noop", "--payload", '{"n": 1}', "--count", "3"]) == 0
    ids = data(capsys.readouterr().out)
    assert len(ids) == 3
    assert main(["jobs", "enqueue", "noop", "--key", "k1"]) == 0
    keyed = data(capsys.readouterr().out)
    assert main(["jobs", "enqueue", "noop", "--key", "k1"]) == 0
    assert data(capsys.readouterr().out) == keyed  # same key, same job

    assert main(["jobs", "enqueue", "nope"]) == 2
    assert capsys.readouterr().err == "market-ai: type: unknown job type 'nope'\n"
    assert main(["jobs", "enqueue", "noop", "--payload", "[1]"]) == 2
    assert "JSON object" in capsys.readouterr().err

    assert main(["jobs", "dead"]) == 0
    assert data(capsys.readouterr().out) == []
    assert main(["jobs", "retry", ids[0]]) == 1
    assert capsys.readouterr().err == f"market-ai: job {ids[0]} is queued, not dead\n"
    assert main(["jobs", "retry", str(uuid4())]) == 1
    assert capsys.readouterr().err == "market-ai: job not found\n"


async def test_cli_lists_and_retries_a_dead_job(
    cli_env: Path,  # noqa: ARG001 - sets the environment up
    capsys: pytest.CaptureFixture[str],
) -> None:
    container = build_container(load_settings())
    await start(container)
    try:
        job = await container.job_service().submit("alice", "noop")
        async with container.unit_of_work() as uow:
            await uow.jobs.bury(job.id, "poison: crashed 6 workers", container.clock().now())
            await uow.commit()
    finally:
        await stop(container)
    assert await _in_thread(["jobs", "dead"]) == 0
    header = ["ID", "TYPE", "OWNER", "ATTEMPTS", "FINISHED", "LAST ERROR"]
    assert "\t".join(header) in capsys.readouterr().out.splitlines()  # log lines share stdout
    assert await _in_thread(["jobs", "dead"]) == 0
    [line] = data(capsys.readouterr().out)
    assert line.startswith(f"{job.id}\tnoop\talice\t0/5\t")
    assert line.endswith("\tpoison: crashed 6 workers")
    assert await _in_thread(["jobs", "retry", str(job.id)]) == 0
    assert data(capsys.readouterr().out) == [f"{job.id}\tqueued"]


def test_cli_refuses_jobs_in_a_memory_database(
    cli_env: Path,  # noqa: ARG001
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DATABASE_URL", "memory://")
    assert main(["worker"]) == 2
    assert "memory://" in capsys.readouterr().err


async def _in_thread(argv: list[str]) -> int:
    """main() runs its own event loop, so from an async test it runs in a thread."""
    return await asyncio.to_thread(main, argv)
