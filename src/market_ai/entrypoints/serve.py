"""`market-ai serve`: the same app, bind, workers and drain on Hypercorn, Granian or Uvicorn.

Hypercorn is the default (HTTP/2); Granian and Uvicorn come with `market-ai[fast]` and serve
HTTP/1.1 with less CPU per request. Whatever the server: it binds --host/--port, runs
--workers processes, leaves client addresses to the app (TRUSTED_PROXY_HOPS decides which
forwarded hops to believe, so the server itself trusts no proxy header), logs through the
app's structured handler, and on SIGTERM stops accepting, lets every request already read
finish and answer with `Connection: close`, then exits within --graceful-timeout.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
from typing import TYPE_CHECKING, Final

from market_ai.entrypoints.http.drain import Drain
from market_ai.settings import Settings

if TYPE_CHECKING:
    from multiprocessing.synchronize import Event as EventType
    from types import FrameType

    from hypercorn.config import Config, Sockets

APP_FACTORY: Final = "market_ai.entrypoints.http.app:create_app"
SERVERS: Final = ("hypercorn", "granian", "uvicorn")
_SHUTDOWN_TIMEOUT: Final = 4.0  # the app's own shutdown (pools) after the drain


def bind_of(args: argparse.Namespace, settings: Settings) -> tuple[str, int]:
    """--host/--port, then $HOST/$PORT, then 127.0.0.1:8000."""
    return args.host or settings.host, args.port or settings.port


def share_cache_or_none(workers: int, settings: Settings) -> None:
    """Processes without Redis cannot tell each other about writes: no in-process cache."""
    if workers > 1 and settings.redis_url is None:
        os.environ.setdefault("CACHE_BACKEND", "off")  # read by each worker's settings


def drained_app() -> Drain:
    """The app behind the drain guard (a factory for servers that import it by name)."""
    from market_ai.entrypoints.http.app import create_app  # noqa: PLC0415

    return Drain(create_app())  # type: ignore[arg-type]


def run_hypercorn(args: argparse.Namespace, settings: Settings) -> int:
    """Hypercorn from its Config (a --config TOML file, or the defaults and the bind)."""
    from hypercorn.config import Config  # noqa: PLC0415 - only this server needs it

    config = Config.from_toml(args.config) if args.config else Config()
    host, port = bind_of(args, settings)
    port_from_env = "port" in settings.model_fields_set  # $PORT wins over a config file's bind
    if args.host or args.port or port_from_env or not args.config:
        config.bind = [f"[{host}]:{port}" if ":" in host else f"{host}:{port}"]
    if args.workers is not None:
        config.workers = args.workers
    elif not args.config:
        config.workers = 1
    config.accesslog = None  # the app logs one structured line per request
    config.errorlog = logging.getLogger("hypercorn.error")  # through our structured handler
    config.graceful_timeout = args.graceful_timeout
    share_cache_or_none(config.workers, settings)
    if config.workers > 1 and config.worker_class == "asyncio":
        import hypercorn.asyncio.run  # noqa: PLC0415
        from hypercorn.run import run  # noqa: PLC0415

        # Hypercorn's supervisor looks its asyncio worker up when it starts: ours marks the
        # drain in each process before Hypercorn stops that process's listeners.
        hypercorn.asyncio.run.asyncio_worker = drained_worker
        config.application_path = "market_ai.entrypoints.serve:drained_app()"
        result: int = run(config)
        return result
    asyncio.run(_hypercorn_single(config))
    return 0


def drained_worker(
    config: Config, sockets: Sockets | None = None, shutdown_event: EventType | None = None
) -> None:
    """One of Hypercorn's worker processes (spawned by its supervisor), drained like one alone.

    The supervisor sets `shutdown_event` on SIGTERM; a SIGTERM sent to this process itself
    (a whole process group signalled) drains it the same way instead of killing it.
    """
    asyncio.run(_hypercorn_single(config, sockets=sockets, shutdown_event=shutdown_event))


async def _hypercorn_single(
    config: Config, *, sockets: Sockets | None = None, shutdown_event: EventType | None = None
) -> None:
    """SIGTERM (or the supervisor's event) marks the drain, then Hypercorn stops listening."""
    from hypercorn.asyncio.run import worker_serve  # noqa: PLC0415
    from hypercorn.utils import check_multiprocess_shutdown_event, wrap_app  # noqa: PLC0415

    app = drained_app()
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)

    async def supervisor_says_stop() -> None:
        if shutdown_event is not None:
            await check_multiprocess_shutdown_event(shutdown_event, asyncio.sleep)
            stopping.set()

    watcher = asyncio.create_task(supervisor_says_stop())

    async def trigger() -> None:
        await stopping.wait()
        watcher.cancel()
        app.close()  # before Hypercorn closes idle connections: nothing new starts

    wrapped = wrap_app(app, config.wsgi_max_body_size, "asgi")  # type: ignore[arg-type]
    await worker_serve(wrapped, config, sockets=sockets, shutdown_trigger=trigger)


def run_uvicorn(args: argparse.Namespace, settings: Settings) -> int:
    """Uvicorn with its graceful shutdown (it already answers what it has read)."""
    import uvicorn  # noqa: PLC0415 - market-ai[fast]

    host, port = bind_of(args, settings)
    share_cache_or_none(args.workers or 1, settings)
    config = uvicorn.Config(
        APP_FACTORY,
        factory=True,
        host=host,
        port=port,
        workers=args.workers or 1,
        proxy_headers=False,  # the app applies TRUSTED_PROXY_HOPS itself
        server_header=False,
        access_log=False,
        log_config=None,  # keep the structured handler configured by the CLI
        lifespan="on",
        timeout_graceful_shutdown=max(int(args.graceful_timeout), 1),
        backlog=1024,
    )
    if config.workers > 1:
        from uvicorn.supervisors import Multiprocess  # noqa: PLC0415

        sock = config.bind_socket()
        Multiprocess(config, sockets=[sock]).run()
        return 0

    class Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            super().handle_exit(sig, frame)
            # Uvicorn re-raises the signal once drained; a completed drain exits 0 instead.
            self._captured_signals.clear()

    Server(config).run()
    return 0


def run_granian(args: argparse.Namespace, settings: Settings) -> int:
    """Granian (Rust HTTP, one Python worker process per --workers)."""
    from granian import Granian  # noqa: PLC0415 - market-ai[fast]
    from granian.constants import Interfaces  # noqa: PLC0415

    host, port = bind_of(args, settings)
    share_cache_or_none(args.workers or 1, settings)
    Granian(
        APP_FACTORY,
        address=host,
        port=port,
        interface=Interfaces.ASGI,
        workers=args.workers or 1,
        factory=True,
        backlog=1024,
        log_access=False,
        # Granian's own lines go through the root handler the app configures.
        log_dictconfig={"handlers": {}, "loggers": {"_granian": {"propagate": True}}},
        workers_kill_timeout=max(int(args.graceful_timeout), 1),
    ).serve()
    return 0


RUNNERS: Final = {"hypercorn": run_hypercorn, "granian": run_granian, "uvicorn": run_uvicorn}
