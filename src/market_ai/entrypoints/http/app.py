"""`create_app(container)`: assembles the Litestar app; holds no rules of its own."""

from __future__ import annotations

from litestar import Litestar, Router
from litestar.config.cors import CORSConfig
from litestar.datastructures import State
from litestar.handlers import HTTPRouteHandler

from market_ai.container import Container, build_container
from market_ai.entrypoints.http.api_docs import api_docs
from market_ai.entrypoints.http.auth import require_bearer
from market_ai.entrypoints.http.body_checks import refuse_unsafe_json
from market_ai.entrypoints.http.controllers.analysis import AnalysisController
from market_ai.entrypoints.http.controllers.campaigns import CampaignController
from market_ai.entrypoints.http.controllers.content import ContentController
from market_ai.entrypoints.http.controllers.emails import EmailController
from market_ai.entrypoints.http.controllers.health import HealthController
from market_ai.entrypoints.http.controllers.jobs import JobController
from market_ai.entrypoints.http.controllers.metrics import MetricsController
from market_ai.entrypoints.http.controllers.unsubscribe import UnsubscribeController
from market_ai.entrypoints.http.cors_refusals import cors_problems
from market_ai.entrypoints.http.dependencies import dependencies, lifespan
from market_ai.entrypoints.http.header_deadline import bound_header_time
from market_ai.entrypoints.http.problems import EXCEPTION_HANDLERS
from market_ai.entrypoints.http.rate_limit import HEADERS as RATE_LIMIT_HEADERS
from market_ai.entrypoints.http.rate_limit import rate_limiting
from market_ai.entrypoints.http.request_context import Recorder, request_context
from market_ai.entrypoints.http.security_headers import security_headers
from market_ai.logging import configure_logging
from market_ai.settings import Settings

EXPOSED_HEADERS = [
    "X-Total-Count",
    "X-Page-Number",
    "Location",
    "Retry-After",
    "X-Request-ID",
    "ETag",
    *RATE_LIMIT_HEADERS,
]


def _cors(settings: Settings) -> CORSConfig | None:
    if not settings.allowed_origins:
        return None
    return CORSConfig(
        allow_origins=settings.allowed_origins,
        allow_methods=["GET", "POST", "PATCH", "PUT", "DELETE", "OPTIONS", "HEAD"],
        allow_headers=[
            "Authorization",
            "Content-Type",
            "Idempotency-Key",
            "X-Request-ID",
            "If-Match",
            "If-None-Match",
        ],
        allow_credentials=True,
        expose_headers=EXPOSED_HEADERS,
        max_age=600,
    )


def create_app(container: Container | None = None) -> Litestar:
    """Build the ASGI app around `container`.

    With no container this is a process entrypoint (Hypercorn's `create_app()`): settings
    come from the environment and logging is configured here.
    """
    if container is None:
        container = build_container()
        settings = container.settings()
        configure_logging(settings.log_level, json=settings.json_logs)
        bound_header_time(settings.http_header_timeout_seconds)  # Hypercorn is serving us
        if settings.sentry_dsn is not None:  # sentry-sdk is imported only then
            from market_ai.observability.sentry import init_sentry  # noqa: PLC0415

            init_sentry(settings, component="api")
    settings = container.settings()
    recorder: Recorder | None = None
    operations: list[HTTPRouteHandler] = []
    if settings.metrics_on:  # prometheus-client is imported only then
        from market_ai.entrypoints.http.prometheus import http_recorder, metrics_route  # noqa: PLC0415

        recorder, operations = http_recorder(), [metrics_route(settings)]
    access = request_context(
        log_health=settings.access_log_health,
        slow_seconds=settings.slow_request_seconds,
        recorder=recorder,
    )
    api = Router(
        path="/api",
        route_handlers=[
            CampaignController,
            MetricsController,
            JobController,
            AnalysisController,
            EmailController,
            ContentController,
        ],
        guards=[require_bearer, refuse_unsafe_json],
        security=[{"BearerToken": []}],
    )
    openapi = None if settings.is_production else api_docs("market-ai", settings.app_version)
    app = Litestar(
        route_handlers=[HealthController, UnsubscribeController, api, *operations],
        dependencies=dependencies(container),
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        lifespan=[lifespan(container)],
        middleware=rate_limiting(container),
        before_send=[security_headers(production=settings.is_production), cors_problems()],
        cors_config=_cors(settings),
        openapi_config=openapi,
        request_max_body_size=settings.max_body_bytes,
        logging_config=None,  # structlog is configured once per process (market_ai.logging)
        state=State({"require_if_match": settings.require_if_match}),
        debug=False,
    )
    # Around the router, not per route: unknown paths (404) and methods (405) get a request
    # id and a log line too, which route middleware never sees.
    app.asgi_handler = access(app.asgi_handler)
    return app
