"""Is the schema what this code needs? Answered without importing Alembic.

Every server start asks; only `market-ai migrate` and the embedded SQLite file change the
schema. Alembic (and Mako under it) would stay in the memory of every API process for one
question, so the shipped revisions are read from the migration scripts' own headers and the
current one from the `alembic_version` table Alembic keeps.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Final

import structlog
from sqlalchemy import inspect, text

from market_ai.adapters.sql.errors import SchemaOutOfDate

if TYPE_CHECKING:
    from sqlalchemy import Connection
    from sqlalchemy.ext.asyncio import AsyncEngine

VERSIONS: Final = Path(__file__).with_name("migrations") / "versions"
_REVISION: Final = re.compile(r"^revision(?::[^=]*)?=\s*[\"'](\w+)[\"']", re.MULTILINE)
_DOWN: Final = re.compile(r"^down_revision(?::[^=]*)?=\s*[\"'](\w+)[\"']", re.MULTILINE)

log = structlog.get_logger(__name__)


@cache
def shipped_revisions() -> tuple[str, frozenset[str]]:
    """The head revision and every revision shipped with this code."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for script in VERSIONS.glob("*.py"):
        source = script.read_text(encoding="utf-8")
        if found := _REVISION.search(source):
            revisions.add(found.group(1))
            parents.update(_DOWN.findall(source))
    heads = revisions - parents
    if len(heads) != 1:
        raise RuntimeError(f"the shipped migrations have {len(heads)} heads: {sorted(heads)}")
    return heads.pop(), frozenset(revisions)


def _current(connection: Connection) -> str | None:
    if not inspect(connection).has_table("alembic_version"):
        return None
    return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


async def check_schema(engine: AsyncEngine) -> str | None:
    """Refuse a schema that is behind; accept one that is ahead, with a warning.

    Ahead means a newer release migrated first (rolling deploy, rollback). Migrations are
    written expand-then-contract, so the older code still works on the newer schema;
    refusing would turn every rollback into an outage.
    """
    async with engine.connect() as conn:
        current = await conn.run_sync(_current)
    head, known = shipped_revisions()
    if current == head:
        return current
    if current is None or current in known:
        raise SchemaOutOfDate(current, head)
    log.warning("database.schema_ahead", current=current, head=head)
    return current
