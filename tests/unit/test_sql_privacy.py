"""The embedded database is private to its owner, and SQL parameters stay out of logs."""

from __future__ import annotations

import logging
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from market_ai.adapters.sql.engine import create_engine, prepare_database
from market_ai.logging import configure_logging
from market_ai.settings import Settings
from tests.conftest import make_settings

SECRET = "dear-alice-your-invoice-4242"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def _connect_once(settings: Settings) -> None:
    engine = create_engine(settings)
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    finally:
        await engine.dispose()


async def test_a_new_database_is_0600_in_a_0700_directory(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    engine = create_engine(make_settings(data_dir))
    try:
        await prepare_database(engine)  # migrates: writes through the WAL
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
            files = sorted(data_dir.glob("market-ai.db*"))
            assert {f.name for f in files} >= {"market-ai.db", "market-ai.db-wal"}
            assert {f.name: _mode(f) for f in files} == dict.fromkeys(
                (f.name for f in files), 0o600
            )
    finally:
        await engine.dispose()
    assert _mode(data_dir) == 0o700


async def test_an_older_readable_install_is_tightened(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o755)
    data_dir.chmod(0o755)
    for name in ("market-ai.db", "market-ai.db-wal"):
        (data_dir / name).touch()
        (data_dir / name).chmod(0o644)
    await _connect_once(make_settings(data_dir))
    assert _mode(data_dir) == 0o700
    assert _mode(data_dir / "market-ai.db") == 0o600
    assert _mode(data_dir / "market-ai.db-wal") == 0o600


async def test_a_shared_directory_named_by_the_url_is_left_alone(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    await _connect_once(
        make_settings(tmp_path / "data", database_url=f"sqlite:///{shared / 'x.db'}")
    )
    assert _mode(shared) == 0o1777
    assert _mode(shared / "x.db") == 0o600


@pytest.fixture
def restored_logging() -> Iterator[None]:
    config = structlog.get_config()
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    structlog.configure(**config)
    root.handlers[:] = handlers
    root.setLevel(level)
    logging.getLogger("aiosqlite").setLevel(logging.NOTSET)


async def _statements_and_a_failure(tmp_path: Path, *, show: bool) -> None:
    settings = make_settings(tmp_path, log_sql_parameters=show)
    configure_logging("DEBUG", json=True)  # here, not in a fixture: capsys owns stdout now
    engine = create_engine(settings)
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT :body"), {"body": SECRET})
            with pytest.raises(DBAPIError) as failed:
                await conn.execute(text("SELECT no_such_column, :body"), {"body": SECRET})
        # what the app's 500 handler does with an unexpected error
        structlog.get_logger("market_ai.http").error("request.failed", exc_info=failed.value)
    finally:
        await engine.dispose()
    sys.stdout.flush()


@pytest.mark.usefixtures("restored_logging")
async def test_debug_logs_and_tracebacks_never_show_sql_parameters(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    await _statements_and_a_failure(tmp_path, show=False)
    out = capsys.readouterr().out
    assert "request.failed" in out
    assert "no_such_column" in out, "the statement itself is still logged"
    assert SECRET not in out


@pytest.mark.usefixtures("restored_logging")
async def test_log_sql_parameters_shows_them_when_asked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    await _statements_and_a_failure(tmp_path, show=True)
    assert SECRET in capsys.readouterr().out
