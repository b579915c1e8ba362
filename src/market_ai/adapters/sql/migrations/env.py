"""Alembic environment: runs on a connection we hand it, or on its own async engine."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import Connection, pool
from sqlalchemy.ext.asyncio import create_async_engine

from market_ai.adapters.sql.tables import metadata
from market_ai.settings import load_settings, normalise_database_url

config = context.config


def _configure(connection: Connection) -> None:
    """SQLite cannot ALTER most things in place: batch mode rebuilds tables instead."""
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )


def _run(connection: Connection) -> None:
    _configure(connection)
    with context.begin_transaction():
        context.run_migrations()


def _url() -> str:
    """The URL given by `market_ai.adapters.sql.migrate`, else the configured database."""
    url = config.attributes.get("url")
    if url is None:
        return load_settings().effective_database_url
    return normalise_database_url(str(url))  # postgres:// means psycopg 3 here too


async def _run_on_own_engine() -> None:
    """The path the bare `alembic` command takes: an engine of our own, closed afterwards."""
    engine = create_async_engine(_url(), poolclass=pool.NullPool)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_run)
    finally:
        await engine.dispose()


def run_offline() -> None:
    """Write the SQL instead of running it (`market-ai migrate --sql`): no connection at all."""
    context.configure(
        url=_url(),
        target_metadata=metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    """Reuse the caller's connection (and its transaction and lock) when there is one."""
    connection = config.attributes.get("connection")
    if connection is None:
        asyncio.run(_run_on_own_engine())
    else:
        _run(connection)


if context.is_offline_mode():
    run_offline()
else:
    run_online()
