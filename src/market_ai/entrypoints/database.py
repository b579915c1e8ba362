"""The CLI's database steps: `market-ai migrate`, and the check `serve` makes before binding."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from market_ai.adapters.sql.engine import create_engine, migrate_database, prepare_database
from market_ai.adapters.sql.errors import DatabaseNotReady
from market_ai.container import storage_kind
from market_ai.settings import Settings


async def _migrate(settings: Settings) -> tuple[str | None, str | None]:
    engine = create_engine(settings)
    try:
        return await migrate_database(engine)
    finally:
        await engine.dispose()


async def _prepare(settings: Settings) -> None:
    engine = create_engine(settings)
    try:
        await prepare_database(engine)
    finally:
        await engine.dispose()


def migrate(args: argparse.Namespace, settings: Settings) -> int:
    """Upgrade the configured database to head, or with --sql print the SQL and touch nothing."""
    if storage_kind(settings) == "memory":
        sys.stderr.write("market-ai: DATABASE_URL=memory:// keeps no schema; nothing to migrate\n")
        return 0
    if args.sql:
        from market_ai.adapters.sql.migrate import offline_sql  # noqa: PLC0415 - alembic

        logging.getLogger("alembic").setLevel(logging.WARNING)  # stdout carries only the SQL
        sys.stdout.write(offline_sql(settings.effective_database_url))
        return 0
    try:
        before, after = asyncio.run(_migrate(settings))
    except DatabaseNotReady as error:
        sys.stderr.write(f"market-ai: {error}\n")
        return 1
    sys.stdout.write(f"database schema: {before or 'empty'} -> {after}\n")
    return 0


def check_database(settings: Settings) -> str | None:
    """Why `serve` must not start, in one line; None when the database is ready.

    Hypercorn would otherwise find out inside the app's lifespan and print a traceback per
    worker. Checking here also migrates embedded SQLite once, before workers are spawned.
    """
    if storage_kind(settings) == "memory":
        return None
    try:
        asyncio.run(_prepare(settings))
    except DatabaseNotReady as error:
        return str(error)
    return None
