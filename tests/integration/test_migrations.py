"""Migrations build the schema tables.py declares, and nothing serves a schema that is behind."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

import psycopg
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from litestar.testing import AsyncTestClient
from sqlalchemy import Connection, insert, inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine
from structlog.testing import capture_logs

from market_ai.adapters.sql.engine import create_engine, migrate_database, prepare_database
from market_ai.adapters.sql.errors import SchemaOutOfDate
from market_ai.adapters.sql.migrate import (
    MIGRATIONS,
    alembic_config,
    current_revision,
    head_revision,
    offline_sql,
)
from market_ai.adapters.sql.schema_check import shipped_revisions
from market_ai.adapters.sql.tables import campaigns, metadata
from market_ai.container import build_container, stop
from market_ai.domain.campaign_service import CampaignDraft
from market_ai.domain.campaigns import CampaignStatus, Channel
from market_ai.entrypoints.http.app import create_app
from tests.conftest import make_settings

pytestmark = pytest.mark.integration
CLI = [sys.executable, "-m", "market_ai.entrypoints.cli"]
UNREACHABLE_PG = "postgresql://nobody:secret@127.0.0.1:1/nowhere"


def _cli_env(data_dir: Path, **extra: str) -> dict[str, str]:
    keep = {
        k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG", "TMPDIR", "PYTHONPATH"}
    }
    return {**keep, "MARKET_AI_DATA_DIR": str(data_dir), "LOG_LEVEL": "WARNING", **extra}


def _cli(data_dir: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args],
        env=_cli_env(data_dir, **env),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture(params=["postgres", "sqlite"])
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'empty.db'}"
    url: str = request.getfixturevalue("fresh_postgres_url")
    return url


@pytest.fixture
async def engine_for(tmp_path: Path) -> AsyncIterator[Callable[[str], AsyncEngine]]:
    made: list[AsyncEngine] = []

    def make(url: str) -> AsyncEngine:
        made.append(create_engine(make_settings(tmp_path, database_url=url)))
        return made[-1]

    yield make
    for engine in made:
        await engine.dispose()


def _diffs(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, metadata))


def _shape(connection: Connection) -> dict[str, Any]:
    """What autogenerate does not compare: constraint names, check texts, FK actions."""
    inspector = inspect(connection)
    shape: dict[str, Any] = {}
    for table in sorted(metadata.tables):
        foreign_keys = inspector.get_foreign_keys(table)
        shape[table] = {
            "pk": inspector.get_pk_constraint(table),
            "checks": sorted(
                (c["name"], " ".join(c["sqltext"].split()))
                for c in inspector.get_check_constraints(table)
            ),
            "fks": sorted((fk["name"], fk["options"].get("ondelete")) for fk in foreign_keys),
            "indexes": sorted(
                (i["name"], tuple(i["column_names"])) for i in inspector.get_indexes(table)
            ),
        }
    return shape


async def test_upgrade_from_empty_builds_exactly_what_tables_py_declares(
    empty_database_url: str,
    postgres_database: Callable[[], str],
    tmp_path: Path,
    engine_for: Callable[[str], AsyncEngine],
) -> None:
    engine = engine_for(empty_database_url)
    assert await current_revision(engine) is None

    assert await migrate_database(engine) == (None, head_revision())
    async with engine.connect() as conn:
        assert await conn.run_sync(_diffs) == []
        migrated = await conn.run_sync(_shape)

    # Reference: the same tables made by create_all, reflected the same way.
    if engine.dialect.name == "sqlite":
        reference = engine_for(f"sqlite:///{tmp_path / 'reference.db'}")
    else:
        reference = engine_for(postgres_database())
    async with reference.begin() as conn:
        await conn.run_sync(metadata.create_all)
    async with reference.connect() as conn:
        assert await conn.run_sync(_shape) == migrated

    assert await migrate_database(engine) == (head_revision(), head_revision())  # idempotent


async def test_an_unmigrated_postgres_is_refused_naming_the_command(
    fresh_postgres_url: str, engine_for: Callable[[str], AsyncEngine]
) -> None:
    with pytest.raises(SchemaOutOfDate) as refused:
        await prepare_database(engine_for(fresh_postgres_url))
    assert str(refused.value) == (
        f"database schema is at empty, this version needs {head_revision()}: "
        "run `market-ai migrate`"
    )


async def test_the_app_refuses_to_start_on_a_schema_behind(
    fresh_postgres_url: str, tmp_path: Path
) -> None:
    container = build_container(make_settings(tmp_path, database_url=fresh_postgres_url))
    with pytest.RaisesGroup(SchemaOutOfDate, flatten_subgroups=True):
        async with AsyncTestClient(create_app(container)):
            pass


async def test_a_schema_ahead_is_served_with_a_warning(
    fresh_postgres_url: str, engine_for: Callable[[str], AsyncEngine]
) -> None:
    """A newer release migrated first (rolling deploy, rollback): the older code keeps serving."""
    engine = engine_for(fresh_postgres_url)
    await migrate_database(engine)
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE alembic_version SET version_num = 'from_the_future'"))
    with capture_logs() as logs:
        await prepare_database(engine)
    assert {"event": "database.schema_ahead", "current": "from_the_future"}.items() <= {
        k: v for log in logs if log["event"] == "database.schema_ahead" for k, v in log.items()
    }.items()


async def test_embedded_sqlite_migrates_itself_and_adopts_a_pre_migration_file(
    tmp_path: Path, engine_for: Callable[[str], AsyncEngine]
) -> None:
    fresh = engine_for(f"sqlite:///{tmp_path / 'fresh.db'}")
    await prepare_database(fresh)
    assert await current_revision(fresh) == head_revision()

    old = engine_for(f"sqlite:///{tmp_path / 'old.db'}")
    async with old.begin() as conn:
        baseline = [metadata.tables["campaigns"], metadata.tables["campaign_metrics"]]
        await conn.run_sync(metadata.create_all, baseline)  # as releases before migrations did
    await prepare_database(old)
    assert await current_revision(old) == head_revision()


def test_alembic_commands_without_a_connection_use_an_engine_of_their_own(
    fresh_postgres_url: str,
) -> None:
    """How a developer runs alembic's own commands (revision, history, upgrade) in code."""
    plain = fresh_postgres_url.replace("postgresql+psycopg://", "postgresql://")
    command.upgrade(alembic_config(url=plain), "head")
    with psycopg.connect(plain) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [
            (head_revision(),)
        ]


def test_migration_scripts_ship_inside_the_package() -> None:
    assert (MIGRATIONS / "env.py").is_file()
    assert (MIGRATIONS / "script.py.mako").is_file()
    assert MIGRATIONS.is_relative_to(Path(sys.modules["market_ai"].__file__ or "").parent)


def test_offline_sql_covers_every_table_without_connecting() -> None:
    sql = offline_sql("postgresql+psycopg://nobody@db.invalid/x")
    assert "CREATE TABLE campaigns" in sql
    assert "CREATE TABLE campaign_metrics" in sql
    assert "CREATE INDEX ix_campaigns_owner_created" in sql
    assert "INSERT INTO alembic_version" in sql


def test_cli_migrate_sql_prints_only_sql(tmp_path: Path) -> None:
    result = _cli(tmp_path, "migrate", "--sql", DATABASE_URL=UNREACHABLE_PG)
    assert result.returncode == 0, result.stderr
    assert "CREATE TABLE campaigns" in result.stdout
    assert result.stdout.lstrip().startswith("BEGIN;")
    assert "secret" not in result.stdout


def test_cli_migrate_upgrades_postgres_and_reports_from_and_to(
    fresh_postgres_url: str, tmp_path: Path
) -> None:
    first = _cli(tmp_path, "migrate", DATABASE_URL=fresh_postgres_url)
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == f"database schema: empty -> {head_revision()}"
    again = _cli(tmp_path, "migrate", DATABASE_URL=fresh_postgres_url)
    assert again.stdout.strip() == f"database schema: {head_revision()} -> {head_revision()}"


def test_cli_migrate_on_an_unreachable_database_says_so_in_one_line(tmp_path: Path) -> None:
    result = _cli(tmp_path, "migrate", DATABASE_URL=UNREACHABLE_PG)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("market-ai: cannot reach the database at postgresql+psycopg://")
    assert "secret" not in lines[0]


def test_cli_serve_refuses_an_unmigrated_postgres_in_one_line(
    fresh_postgres_url: str, tmp_path: Path
) -> None:
    result = _cli(tmp_path, "serve", "--port", "1", DATABASE_URL=fresh_postgres_url)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    expected = f"database schema is at empty, this version needs {head_revision()}"
    assert lines == [f"market-ai: {expected}: run `market-ai migrate`"]


def _upgrade_to(connection: Connection, revision: str) -> None:
    command.upgrade(alembic_config(connection=connection), revision)


async def test_campaign_counts_start_from_the_rows_already_there(
    empty_database_url: str, engine_for: Callable[[str], AsyncEngine], tmp_path: Path
) -> None:
    """0008 fills the counts from existing campaigns; triggers keep them from then on."""
    engine = engine_for(empty_database_url)
    async with engine.begin() as conn:
        await conn.run_sync(_upgrade_to, "0004")
        for i, status in enumerate(["draft", "draft", "active"]):
            at = datetime(2025, 1, 1, 0, i, tzinfo=UTC)
            row = {"id": uuid4(), "owner_id": "u1", "name": "c", "channel": "email"}
            row |= {"status": status, "budget_minor": 0, "currency": "USD", "version": 1}
            await conn.execute(insert(campaigns).values(row | {"created_at": at, "updated_at": at}))
    await migrate_database(engine)
    settings = make_settings(tmp_path, database_url=empty_database_url)
    container = build_container(settings)
    service = container.campaign_service()
    try:
        assert (await service.list("u1")).total == 3
        assert (await service.list("u1", status=CampaignStatus.ACTIVE)).total == 1
        await service.create("u1", CampaignDraft(name="new", channel=Channel.EMAIL))
        assert (await service.list("u1", page=9)).total == 4
    finally:
        await stop(container)


def test_the_start_up_check_reads_the_same_head_as_alembic() -> None:
    """Serving checks the schema without Alembic; it must agree with Alembic on the head."""
    head, known = shipped_revisions()
    assert head == head_revision()
    assert known == {
        script.revision for script in ScriptDirectory(str(MIGRATIONS)).walk_revisions()
    }
