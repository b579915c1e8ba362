"""The async engine: one pool per process, sized and timed from settings."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from market_ai.adapters.sql.tables import metadata

if TYPE_CHECKING:
    from sqlalchemy.pool import ConnectionPoolEntry

    from market_ai.settings import Settings

log = structlog.get_logger(__name__)


def _sqlite_pragmas(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    """WAL lets readers run beside the writer; busy_timeout waits instead of failing."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def create_engine(settings: Settings) -> AsyncEngine:
    """Build the engine for the configured database (nothing connects yet)."""
    url = make_url(settings.effective_database_url)
    if url.get_backend_name() == "sqlite":
        if url.database:
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": settings.db_pool_timeout})
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    statement_ms = int(settings.db_statement_timeout * 1000)
    return create_async_engine(
        url,
        pool_size=settings.db_pool_max_size,
        max_overflow=0,
        pool_timeout=settings.db_pool_timeout,
        pool_recycle=int(settings.db_pool_idle_lifetime),
        pool_pre_ping=True,
        connect_args={
            "connect_timeout": max(1, int(settings.db_pool_timeout)),
            "options": f"-c statement_timeout={statement_ms}",
            "application_name": "market-ai",
        },
    )


async def create_schema(engine: AsyncEngine) -> None:
    """Create missing tables (embedded SQLite: the database is made on first start)."""
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)


async def prepare_database(engine: AsyncEngine) -> None:
    """Make the database usable: SQLite gets its schema on first start."""
    if engine.dialect.name == "sqlite":
        await create_schema(engine)
    log.info("database.ready", backend=engine.dialect.name)


async def ping(engine: AsyncEngine) -> None:
    """Run a trivial query; raises when the database cannot answer."""
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
