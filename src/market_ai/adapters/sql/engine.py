"""The async engine: one pool per process, sized and timed from settings."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import structlog
from sqlalchemy import event, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import QueuePool

from market_ai.adapters.sql.errors import DatabaseUnreachable
from market_ai.adapters.sql.schema_check import check_schema
from market_ai.adapters.sql.sqlite_files import make_private

if TYPE_CHECKING:
    from sqlalchemy.engine import URL
    from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection

    from market_ai.settings import Settings

log = structlog.get_logger(__name__)

_IDLE_SINCE: Final = "market_ai_idle_since"
# A connection handed back less than this long ago is reused without a ping (see _check_idle).
PING_AFTER_IDLE: Final = 1.0
# libpq waits at least 2 s whatever it is told; beyond 10 s a dead host only delays the 503.
_CONNECT_TIMEOUT_RANGE: Final = (2, 10)
# An idle connection whose host vanished (no RST) is found dead after about 25 s.
_KEEPALIVES: Final = {
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 5,
    "keepalives_count": 3,
}
_UNREACHABLE: Final = (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError, OSError)


def _sqlite_pragmas(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    """WAL lets readers run beside the writer; busy_timeout waits instead of failing."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def pool_options(settings: Settings) -> dict[str, Any]:
    """Map the origin design's pool (min 5, max 20, asyncpg-style) onto SQLAlchemy's QueuePool.

    QueuePool has no minimum: `pool_size` is how many connections it keeps once opened and
    `max_overflow` how many more it may open under load, closing those when handed back.
    So pool_size = DB_POOL_MIN_SIZE (opened at start by `warm_pool`), overflow up to
    DB_POOL_MAX_SIZE in total: a burst may use the maximum, a quiet instance holds only the
    minimum on the server, which is what the origin's idle lifetime was for. The price is
    that connections above the minimum are opened per burst; MIN = MAX keeps all of them.
    A checkout waits DB_POOL_TIMEOUT for a free connection, then fails (503, not a hang).
    Liveness is checked by `_check_idle` rather than `pool_pre_ping`, which would add a
    round trip to every checkout, the busiest ones included.
    """
    keep = max(settings.db_pool_min_size, 1)  # 0 would mean "no limit" to QueuePool
    return {
        "pool_size": keep,
        "max_overflow": settings.db_pool_max_size - keep,
        "pool_timeout": settings.db_pool_timeout,
        "pool_pre_ping": False,
    }


def connect_args(settings: Settings, url: URL) -> dict[str, Any]:
    """Options libpq applies to each new connection; whatever the URL itself sets wins.

    A dead server must cost a quick 503, not a hanging request. The worst checkout pings a
    pooled connection whose host vanished (tcp_user_timeout ends the wait for an ACK) and
    then connects anew (connect_timeout): each gets half of DB_POOL_TIMEOUT, so together
    they fit in it. Keepalives find idle connections to a vanished host.
    The statement timeout rides in the startup packet: no extra round trip, in force before
    the first query, and appended to any `options` the URL already carries (e.g. Neon's).
    """
    low, high = _CONNECT_TIMEOUT_RANGE
    wait = min(max(int(settings.db_pool_timeout / 2), low), high)
    defaults: dict[str, Any] = {
        "connect_timeout": wait,
        "tcp_user_timeout": wait * 1000,
        "application_name": "market-ai",
        **_KEEPALIVES,
    }
    args = {key: value for key, value in defaults.items() if key not in url.query}
    statement_ms = int(settings.db_statement_timeout * 1000)
    given = url.query.get("options")
    given_options = " ".join(given) if isinstance(given, tuple) else (given or "")
    args["options"] = f"{given_options} -c statement_timeout={statement_ms}".strip()
    return args


def _check_idle(engine: AsyncEngine, lifetime: float) -> None:
    """At checkout, drop a connection idle past DB_POOL_IDLE_LIFETIME; ping one idle > 1 s.

    Dropping: closer to the origin's max_inactive_connection_lifetime than pool_recycle
    (which counts age, and so would churn busy connections too): proxies and firewalls cut
    idle sessions, and a fresh connection costs less than a failed ping.
    Pinging: a connection that sat idle may have died with a database restart; one handed
    back a moment ago was just working, so busy checkouts (a worker's batches, a burst of
    requests) skip the round trip `pool_pre_ping` would spend on each. A connection that
    dies within that moment fails its statement, which invalidates the pool as a failed
    ping would. Raising DisconnectionError in `checkout` makes the pool connect anew.
    """

    def checkin(_dbapi: Any, record: ConnectionPoolEntry) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    def checkout(dbapi: Any, record: ConnectionPoolEntry, _proxy: PoolProxiedConnection) -> None:
        since = record.info.pop(_IDLE_SINCE, None)
        idle = 0.0 if since is None else time.monotonic() - since
        if idle > lifetime:
            raise sa_exc.DisconnectionError("idle longer than DB_POOL_IDLE_LIFETIME")
        if idle > PING_AFTER_IDLE:
            try:
                engine.dialect.do_ping(dbapi)
            except engine.dialect.loaded_dbapi.Error as error:
                if engine.dialect.is_disconnect(error, dbapi, None):
                    raise sa_exc.DisconnectionError("the connection died while idle") from error
                raise

    event.listen(engine.sync_engine, "checkin", checkin)
    event.listen(engine.sync_engine, "checkout", checkout)


def create_engine(settings: Settings) -> AsyncEngine:
    """Build the engine for the configured database (nothing connects yet).

    Bound parameters (email bodies, recipients, briefs) stay out of logs and error texts,
    SQLAlchemy's `[parameters: ...]` included, unless LOG_SQL_PARAMETERS asks for them.
    """
    url = make_url(settings.effective_database_url)
    hide = not settings.log_sql_parameters
    if url.get_backend_name() == "sqlite":
        # aiosqlite logs each statement with its parameters at DEBUG
        logging.getLogger("aiosqlite").setLevel(logging.INFO if hide else logging.NOTSET)
        engine = create_async_engine(
            url, connect_args={"timeout": settings.db_pool_timeout}, hide_parameters=hide
        )
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        if url.database and url.database != ":memory:":
            database, data_dir = Path(url.database), settings.data_dir

            def private_files(*_: object) -> None:  # before SQLite opens (and creates) the file
                make_private(database, data_dir)

            event.listen(engine.sync_engine, "do_connect", private_files)
        return engine
    engine = create_async_engine(
        url,
        connect_args=connect_args(settings, url),
        hide_parameters=hide,
        **pool_options(settings),
    )
    _check_idle(engine, settings.db_pool_idle_lifetime)
    return engine


def _describe(engine: AsyncEngine, error: BaseException) -> str:
    where = engine.url.render_as_string(hide_password=True)
    cause = str(getattr(error, "orig", None) or error).strip().splitlines()
    return f"cannot reach the database at {where}: {cause[0] if cause else type(error).__name__}"


async def _reach(engine: AsyncEngine) -> None:
    """Connect once, turning a failure into one line that names the (password-free) URL.

    Only the connection is checked this way: an error in the schema work after it (a
    failed migration) keeps its own type and traceback, which is what needs reading then.
    """
    try:
        await ping(engine)
    except _UNREACHABLE as error:
        raise DatabaseUnreachable(_describe(engine, error)) from error


async def prepare_database(engine: AsyncEngine) -> None:
    """Make sure the schema is what this code needs before anything is served.

    Embedded SQLite migrates itself (one process owns the file). A server database is
    only checked: migrating is a deploy step (`market-ai migrate`), run once, not by every
    instance racing at start; a schema behind raises SchemaOutOfDate.
    """
    await _reach(engine)
    if engine.dialect.name == "sqlite":
        from market_ai.adapters.sql.migrate import upgrade  # noqa: PLC0415 - alembic

        await upgrade(engine)
    else:
        await check_schema(engine)
    log.info("database.ready", backend=engine.dialect.name)


async def migrate_database(engine: AsyncEngine) -> tuple[str | None, str | None]:
    """Upgrade to head (`market-ai migrate`); returns the revisions before and after."""
    from market_ai.adapters.sql.migrate import upgrade  # noqa: PLC0415 - alembic

    await _reach(engine)
    return await upgrade(engine)


async def warm_pool(engine: AsyncEngine) -> None:
    """Open the pool's kept connections now, so the first requests do not pay for connecting."""
    pool = engine.pool
    if engine.dialect.name == "sqlite" or not isinstance(pool, QueuePool):
        return
    async with contextlib.AsyncExitStack() as stack:
        opened = await asyncio.gather(
            *(stack.enter_async_context(engine.connect()) for _ in range(pool.size())),
            return_exceptions=True,
        )
    failures = [result for result in opened if isinstance(result, BaseException)]
    if failures:
        raise DatabaseUnreachable(_describe(engine, failures[0])) from failures[0]


async def ping(engine: AsyncEngine) -> None:
    """Run a trivial query; raises when the database cannot answer."""
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
