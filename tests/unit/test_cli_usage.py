"""The CLI explains itself: bad arguments and empty answers get one clear line."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from market_ai.entrypoints.cli import main


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for key in list(os.environ):
        if key.upper().startswith(("CLERK_", "DATABASE_URL", "REDIS_URL", "JOB_", "WORKER_")):
            monkeypatch.delenv(key)
    monkeypatch.setenv("MARKET_AI_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("LOG_LEVEL", "WARNING")
    monkeypatch.chdir(tmp_path)
    for module in ("cli", "job_commands"):
        monkeypatch.setattr(f"market_ai.entrypoints.{module}.configure_logging", _leave_logging)
    return tmp_path


def _leave_logging(*_: object, **__: object) -> None:
    """Stands in for configure_logging: the test process keeps its own configuration."""


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--user", ""], "--user must name a user"),
        (["--user", "   "], "--user must name a user"),
        (["--user", "alice", "--hours", "-1"], "--hours must be above 0"),
        (["--user", "alice", "--hours", "0"], "--hours must be above 0"),
        (["--user", "alice", "--hours", "nan"], "--hours must be above 0"),
        (["--user", "alice", "--hours", "1e9"], "at most 8784"),
    ],
)
def test_token_refuses_what_the_server_would_refuse_in_one_line(
    cli_env: Path,  # noqa: ARG001 - sets the environment up
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    says: str,
) -> None:
    assert main(["token", *argv]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith("market-ai: ")
    assert says in err


def test_token_prints_one_token_for_a_named_user(
    cli_env: Path,  # noqa: ARG001
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["token", "--user", "alice", "--hours", "0.5"]) == 0
    assert capsys.readouterr().out.count(".") == 2  # header.claims.signature


def test_jobs_dead_says_when_there_are_none(
    cli_env: Path,  # noqa: ARG001
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["jobs", "dead"]) == 0
    assert "no dead jobs" in capsys.readouterr().out.splitlines()  # log lines share stdout


def test_a_worker_without_redis_is_refused_in_one_line(
    cli_env: Path,  # noqa: ARG001
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["worker"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "REDIS_URL" in err
    assert "market-ai serve" in err
