"""`market-ai worker` and `market-ai jobs dead|retry|enqueue`: the job system's commands."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any
from uuid import UUID

import structlog

from market_ai.container import Container, build_container, start, stop, storage_kind
from market_ai.domain.errors import DomainError
from market_ai.domain.request_ids import new_request_id, request_id_bound
from market_ai.logging import configure_logging

if TYPE_CHECKING:
    from market_ai.domain.job_service import JobService
    from market_ai.domain.jobs import Job
    from market_ai.settings import Settings

log = structlog.get_logger(__name__)
Command = Callable[[Container, argparse.Namespace], Awaitable[int]]


def _fail(message: str, code: int = 1) -> int:
    sys.stderr.write(f"market-ai: {message}\n")
    return code


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _run(settings: Settings, command: Command, args: argparse.Namespace) -> int:
    """Start the container, run the command, stop it; setup failures are one line."""
    if storage_kind(settings) == "memory":
        return _fail(
            "DATABASE_URL=memory:// keeps jobs inside the serve process; "
            "set DATABASE_URL to share them",
            2,
        )
    from market_ai.adapters.sql.errors import DatabaseNotReady  # noqa: PLC0415

    async def main() -> int:
        container = build_container(settings)
        try:
            await start(container)
            return await command(container, args)
        except DatabaseNotReady as error:
            return _fail(str(error))
        finally:
            await stop(container)

    return asyncio.run(main())


async def _guard_redis(container: Container) -> str | None:
    """Why the worker must not start on this Redis, or None; AOF-off is only a warning."""
    from redis.exceptions import RedisError  # noqa: PLC0415

    from market_ai.adapters.redis.guards import (  # noqa: PLC0415
        RedisEvictionPolicyError,
        check_durability,
    )

    try:
        warnings = await check_durability(container.redis_client())
    except RedisEvictionPolicyError as error:
        return str(error)
    except (RedisError, OSError) as error:
        return f"cannot reach Redis: {error}"
    for warning in warnings:
        log.warning("redis.durability", warning=warning)
    return None


async def _work(container: Container, args: argparse.Namespace) -> int:
    """Run until SIGTERM or SIGINT, then drain within WORKER_GRACE_SECONDS and exit 0."""
    if (problem := await _guard_redis(container)) is not None:  # _worker saw REDIS_URL set
        return _fail(problem)
    from market_ai.entrypoints.worker import run_worker  # noqa: PLC0415

    halt = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, halt.set)
    async with contextlib.AsyncExitStack() as stack:
        if args.metrics_port is not None:
            await stack.enter_async_context(_metrics(container, args.metrics_port))
        await run_worker(container, stop=halt, concurrency=args.concurrency)
    return 0


DEAD_COLUMNS = ("ID", "TYPE", "OWNER", "ATTEMPTS", "FINISHED", "LAST ERROR")


def _metrics(container: Container, port: int) -> contextlib.AbstractAsyncContextManager[object]:
    from market_ai.entrypoints.worker.metrics_server import metrics_server  # noqa: PLC0415

    settings = container.settings()
    token = settings.metrics_token.get_secret_value() if settings.metrics_token else None
    return metrics_server(settings.host, port, token=token, monitor=container.job_monitor())


async def _dead(container: Container, args: argparse.Namespace) -> int:
    """A header, then one tab-separated line per dead job, most recent first; or says none."""
    dead = await container.job_service().list_dead(limit=args.limit)
    if not dead:
        sys.stdout.write("no dead jobs\n")
        return 0
    sys.stdout.write("\t".join(DEAD_COLUMNS) + "\n")
    for job in dead:
        finished = job.finished_at.isoformat() if job.finished_at else "-"
        fields = [str(job.id), job.type, job.owner_id, f"{job.attempt}/{job.max_attempts}"]
        sys.stdout.write("\t".join([*fields, finished, job.last_error or "-"]) + "\n")
    return 0


async def _retry(container: Container, args: argparse.Namespace) -> int:
    try:
        job = await container.job_service().retry_dead(args.job_id)
    except DomainError as error:
        return _fail(error.message)
    sys.stdout.write(f"{job.id}\t{job.status}\n")
    return 0


async def _prune(container: Container, _args: argparse.Namespace) -> int:
    """Delete finished history older than JOB_RETENTION_DAYS now; prints what went."""
    from market_ai.entrypoints.worker import build_retention  # noqa: PLC0415

    pruned = await build_retention(container).prune_once()
    sys.stdout.write(f"jobs\t{pruned.jobs}\nspend_ledger\t{pruned.ledger_entries}\n")
    return 0


async def _enqueue(container: Container, args: argparse.Namespace) -> int:
    """Print the ids of the new jobs, one a line; --count N writes them in one transaction."""
    try:
        payload: Any = json.loads(args.payload)
    except json.JSONDecodeError as error:
        return _fail(f"--payload is not JSON: {error}", 2)
    if not isinstance(payload, dict):
        return _fail("--payload must be a JSON object", 2)
    service = container.job_service()
    rid = new_request_id()  # what a request id is to an API call, this command is to its jobs
    try:
        with request_id_bound(rid), structlog.contextvars.bound_contextvars(request_id=rid):
            jobs = await _submit(service, args, payload)
    except DomainError as error:
        return _fail(error.message, 2)
    sys.stdout.write("".join(f"{job.id}\n" for job in jobs))
    return 0


async def _submit(
    service: JobService, args: argparse.Namespace, payload: dict[str, Any]
) -> list[Job]:
    if args.count == 1:
        return [await service.submit(args.owner, args.type, payload, idempotency_key=args.key)]
    return list(await service.submit_many(args.owner, args.type, [payload] * args.count))


def _bind(
    command: Command, *, quiet: bool = False
) -> Callable[[argparse.Namespace, Settings], int]:
    """`quiet` commands print data on stdout, so only warnings may join it there."""

    def handler(args: argparse.Namespace, settings: Settings) -> int:
        if quiet and settings.log_level in {"DEBUG", "INFO"}:
            configure_logging("WARNING", json=settings.json_logs)
        return _run(settings, command, args)

    return handler


def _worker(args: argparse.Namespace, settings: Settings) -> int:
    """A separate worker takes jobs from Redis; without it `serve` runs them (WORKER_EMBEDDED).

    A second, database-polling worker beside the embedded one would be a mode nobody
    documents or sizes for, so it is refused rather than half supported. `--metrics-port`
    turns metrics on for this process (with a token, in production).
    """
    if settings.redis_url is None and storage_kind(settings) != "memory":
        return _fail(NO_REDIS, 2)
    if args.metrics_port is not None:
        if settings.is_production and settings.metrics_token is None:
            return _fail("--metrics-port in production needs METRICS_TOKEN", 2)
        settings = settings.model_copy(update={"metrics_enabled": True})
    if settings.sentry_dsn is not None:
        from market_ai.observability.sentry import init_sentry  # noqa: PLC0415

        init_sentry(settings, component="worker")
    return _run(settings, _work, args)


NO_REDIS = (
    "`market-ai worker` takes jobs from Redis: set REDIS_URL "
    "(without it, `market-ai serve` runs jobs in its own process)"
)


def add_job_commands(commands: Any) -> None:  # noqa: ANN401 - argparse's private subparsers type
    """Register `worker` and `jobs` on the CLI's subcommands."""
    worker = commands.add_parser("worker", help="run background jobs until SIGTERM")
    worker.add_argument(
        "--concurrency", type=_positive, help="jobs run at once (default $WORKER_CONCURRENCY)"
    )
    worker.add_argument(
        "--metrics-port", type=_positive, help="serve GET /metrics on this port (HOST's address)"
    )
    worker.set_defaults(handler=_worker)

    jobs = commands.add_parser("jobs", help="inspect and operate the job system")
    actions = jobs.add_subparsers(dest="action", required=True, metavar="ACTION")
    dead = actions.add_parser("dead", help="list dead jobs, most recent first")
    dead.add_argument("--limit", type=_positive, default=100, help="at most this many (100)")
    dead.set_defaults(handler=_bind(_dead, quiet=True))
    retry = actions.add_parser("retry", help="queue a dead job again")
    retry.add_argument("job_id", type=UUID, metavar="ID")
    retry.set_defaults(handler=_bind(_retry, quiet=True))
    prune = actions.add_parser(
        "prune", help="delete succeeded jobs and closed spend entries past JOB_RETENTION_DAYS"
    )
    prune.set_defaults(handler=_bind(_prune, quiet=True))
    enqueue = actions.add_parser("enqueue", help="enqueue jobs; prints their ids")
    enqueue.add_argument("type", help="job type, e.g. noop")
    enqueue.add_argument("--payload", default="{}", help="JSON object (default {})")
    enqueue.add_argument("--owner", default="operator", help="owning user id (default operator)")
    enqueue.add_argument("--key", help="idempotency key (with --count 1)")
    enqueue.add_argument("--count", type=_positive, default=1, help="how many (one transaction)")
    enqueue.set_defaults(handler=_bind(_enqueue, quiet=True))
