"""`market-ai`: the operator's commands (serve, token, migrate, ...)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Final

from market_ai.entrypoints.job_commands import add_job_commands
from market_ai.entrypoints.serve import SERVERS
from market_ai.logging import configure_logging
from market_ai.settings import Settings, SettingsError, load_settings

TOKEN_HOURS_MAX: Final = 24 * 366  # a development token for a year at most


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    """Check the database, then run the app under the chosen server (entrypoints.serve)."""
    from market_ai.entrypoints.database import check_database  # noqa: PLC0415
    from market_ai.entrypoints.serve import RUNNERS, bind_of  # noqa: PLC0415

    if (problem := check_database(settings)) is not None:
        print(f"market-ai: {problem}", file=sys.stderr)  # noqa: T201
        return 1
    host, port = bind_of(args, settings)
    where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    print(  # noqa: T201
        f"market-ai serving on http://{where} with {args.server} ({settings.app_env})",
        file=sys.stderr,
    )
    if not settings.metrics_on:
        return RUNNERS[args.server](args, settings)
    from market_ai.observability.metrics_dir import instance_metrics_dir  # noqa: PLC0415

    with instance_metrics_dir():  # before any worker starts: they inherit it, scrapes sum them
        return RUNNERS[args.server](args, settings)


def _token(args: argparse.Namespace, settings: Settings) -> int:
    """Print a development token for `--user`; refuses where a real identity provider rules.

    A token the server would refuse (no subject, already expired) is refused here instead.
    """
    if not args.user.strip():
        print("market-ai: --user must name a user (the token's sub)", file=sys.stderr)  # noqa: T201
        return 2
    if not 0 < args.hours <= TOKEN_HOURS_MAX:  # NaN fails too
        print(f"market-ai: --hours must be above 0 and at most {TOKEN_HOURS_MAX}", file=sys.stderr)  # noqa: T201
        return 2
    if settings.identity_provider_configured:
        print(  # noqa: T201
            "market-ai: an identity provider is configured (CLERK_*); get tokens from it",
            file=sys.stderr,
        )
        return 2
    from market_ai.adapters.auth.local_key import LocalKeyTokens  # noqa: PLC0415

    tokens = LocalKeyTokens(settings.data_dir)
    print(tokens.issue(args.user, ttl=timedelta(hours=args.hours)))  # noqa: T201
    return 0


def _migrate(args: argparse.Namespace, settings: Settings) -> int:
    """Upgrade the database to head (a deploy step), or print the SQL with --sql."""
    from market_ai.entrypoints.database import migrate  # noqa: PLC0415

    return migrate(args, settings)


def _seconds(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError("must be a positive number of seconds")
    return value


def _monitor(args: argparse.Namespace, settings: Settings) -> int:
    """One check of a deployment (exit 1 when down), or `--watch` with alerts on change."""
    from market_ai.entrypoints.monitor import run_monitor  # noqa: PLC0415

    return run_monitor(args, settings)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="market-ai",
        description="Backend of a marketing-AI dashboard. Settings come from the environment.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the HTTP API (Hypercorn unless --server)")
    serve.add_argument("--host", help="address to bind (default $HOST, then 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to bind (default $PORT, then 8000)")
    serve.add_argument("--workers", type=int, help="worker processes (default 1)")
    serve.add_argument(
        "--server",
        choices=SERVERS,
        default="hypercorn",
        help="HTTP server (default hypercorn; granian and uvicorn need market-ai[fast])",
    )
    serve.add_argument("--config", help="a Hypercorn TOML file (e.g. deploy/hypercorn.toml)")
    serve.add_argument(
        "--graceful-timeout",
        type=float,
        default=25.0,
        help="seconds in-flight requests get on SIGTERM (default 25, inside Render's 30)",
    )
    serve.set_defaults(handler=_serve)

    token = commands.add_parser("token", help="print a development bearer token")
    token.add_argument("--user", required=True, help="user id to put in the token's sub")
    token.add_argument("--hours", type=float, default=12.0, help="lifetime (default 12)")
    token.set_defaults(handler=_token)

    migrate = commands.add_parser("migrate", help="upgrade the database schema to this version")
    migrate.add_argument(
        "--sql", action="store_true", help="print the SQL instead of running it (no connection)"
    )
    migrate.set_defaults(handler=_migrate)

    add_job_commands(commands)  # worker, jobs dead|retry|enqueue
    monitor = commands.add_parser("monitor", help="check a deployment's health; alert on change")
    monitor.add_argument("url", metavar="URL", help="base URL, e.g. https://api.example.com")
    monitor.add_argument("--watch", type=_seconds, metavar="SECONDS", help="check every SECONDS")
    monitor.add_argument(
        "--webhook", help="Slack-compatible webhook for changes (default $MONITOR_WEBHOOK_URL)"
    )
    monitor.add_argument("--timeout", type=_seconds, default=10.0, help="seconds per request (10)")
    monitor.set_defaults(handler=_monitor)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments, load settings (failing with one line naming the variable), run."""
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as error:
        print(f"market-ai: {error}", file=sys.stderr)  # noqa: T201
        return 2
    configure_logging(settings.log_level, json=settings.json_logs)
    handler: Callable[[argparse.Namespace, Settings], int] = args.handler
    return handler(args, settings)


if __name__ == "__main__":
    sys.exit(main())
