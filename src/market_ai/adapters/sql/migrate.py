"""Schema migrations from code: upgrade to head, print the SQL, compare revision with head."""

from __future__ import annotations

import io
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Final, TextIO

import structlog
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

if TYPE_CHECKING:
    from sqlalchemy import Connection
    from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS: Final = Path(__file__).with_name("migrations")
# Any constant will do, as long as every process that migrates uses the same one.
_LOCK_KEY: Final = 0x6D61726B65745F6D  # "market_m"
# Tables create_all made before migrations existed; such a database is adopted as revision 0001.
_BASELINE: Final = ("0001", frozenset({"campaigns", "campaign_metrics"}))

log = structlog.get_logger(__name__)


class _OnlyMigrations(logging.Filter):
    """Alembic announces its dialect on every revision check; only applied migrations are news."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith(("Context impl", "Will assume"))


logging.getLogger("alembic.runtime.migration").addFilter(_OnlyMigrations())


def alembic_config(
    *, connection: Connection | None = None, url: str | None = None, output: TextIO | None = None
) -> Config:
    """Build the Config in code: no alembic.ini at runtime, the scripts ship in the package.

    The URL travels in `attributes`, never through the ini parser, so a password with `%`
    needs no escaping and is never written anywhere.
    """
    config = Config(output_buffer=output) if output is not None else Config()
    config.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
    config.set_main_option("path_separator", "os")
    if connection is not None:
        config.attributes["connection"] = connection
    if url is not None:
        config.attributes["url"] = url
    return config


def head_revision() -> str:
    """The revision this version of the code needs."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError("no migrations are shipped with this package")
    return head


def _current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def current_revision(engine: AsyncEngine) -> str | None:
    """The revision the database is at, None when it has never been migrated."""
    async with engine.connect() as conn:
        return await conn.run_sync(_current)


async def check_schema(engine: AsyncEngine) -> str | None:
    """Refuse a schema that is behind, warn on one ahead (schema_check, without Alembic)."""
    from market_ai.adapters.sql.schema_check import check_schema as check  # noqa: PLC0415

    return await check(engine)


def _adopt_baseline(connection: Connection) -> str | None:
    """Stamp a database create_all made before migrations existed, instead of failing on it."""
    revision, tables = _BASELINE
    if not tables <= set(inspect(connection).get_table_names()):
        return None
    command.stamp(alembic_config(connection=connection), revision)
    log.info("database.schema_adopted", revision=revision)
    return revision


def _upgrade(connection: Connection) -> tuple[str | None, str | None]:
    before = _current(connection)
    if before is None:
        before = _adopt_baseline(connection)
    command.upgrade(alembic_config(connection=connection), "head")
    return before, _current(connection)


async def upgrade(engine: AsyncEngine) -> tuple[str | None, str | None]:
    """Bring the schema to head in one transaction and return (before, after).

    On Postgres an advisory lock makes concurrent runs (two deploys at once) queue rather
    than race, and the statement timeout is lifted for this transaction only: building an
    index on a big table may rightly take longer than any request should.
    """
    async with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execute(text("SET LOCAL statement_timeout = 0"))
            await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
        before, after = await conn.run_sync(_upgrade)
    log.info("database.migrated", before=before, after=after)
    return before, after


def offline_sql(url: str) -> str:
    """The SQL that takes an empty database of `url`'s dialect to head; nothing connects."""
    output = io.StringIO()
    command.upgrade(alembic_config(url=url, output=output), "head", sql=True)
    return output.getvalue()
