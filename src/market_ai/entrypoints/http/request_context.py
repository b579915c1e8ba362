"""Per-request id and access log, as a plain ASGI middleware (cheap on the hot path)."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Final

import structlog
from litestar.enums import ScopeType

from market_ai.domain.request_ids import request_id_bound

if TYPE_CHECKING:
    from collections.abc import Iterable

    from litestar.types import ASGIApp, Message, Receive, Scope, Send

log = structlog.get_logger("market_ai.access")
_SAFE_ID: Final = re.compile(rb"[A-Za-z0-9._:-]{1,128}")
_HEADER: Final = b"x-request-id"
_HEALTH: Final = ("/health",)
_PROBE_METHODS: Final = frozenset({"GET", "HEAD"})  # a DELETE /health is no probe: logged
UNMATCHED: Final = "unmatched"  # the route label of a request no route took (404, 405)

# (route template, method, status, seconds): how the metrics hear of each request.
Recorder = Callable[[str, str, int, float], None]


def request_id(headers: Iterable[tuple[bytes, bytes]]) -> bytes:
    """The caller's X-Request-ID if it is sane, else 128 random bits as 32 hex digits."""
    for name, value in headers:
        if name == _HEADER:
            return value if _SAFE_ID.fullmatch(value) else os.urandom(16).hex().encode()
    return os.urandom(16).hex().encode()


def request_context(
    *, log_health: bool = False, slow_seconds: float = 1.0, recorder: Recorder | None = None
) -> Callable[[ASGIApp], ASGIApp]:
    """Give every request an X-Request-ID (the caller's, if sane) and log one line per request.

    The id is bound into structlog's context for everything logged while the request runs,
    and into the domain's, so jobs the request enqueues carry it. Health probes are not
    logged unless `log_health`; a request slower than `slow_seconds` logs at warning.
    `recorder` gets the route *template* (bounded labels: never a raw path or an id).
    """

    def wrap(app: ASGIApp) -> ASGIApp:
        async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != ScopeType.HTTP:
                await app(scope, receive, send)
                return
            rid = request_id(scope["headers"])
            started = time.perf_counter()
            first_byte = started
            status = 500

            async def send_with_id(message: Message) -> None:
                nonlocal status, first_byte
                if message["type"] == "http.response.start":
                    status = message["status"]
                    first_byte = time.perf_counter()
                    message["headers"] = [*message.get("headers", ()), (_HEADER, rid)]
                await send(message)

            text = rid.decode("latin-1")
            bound = structlog.contextvars.bind_contextvars(request_id=text)
            try:
                with request_id_bound(text):  # jobs enqueued by this request carry it
                    await app(scope, receive, send_with_id)
            finally:
                seconds = time.perf_counter() - started
                if recorder is not None:
                    route = scope.get("path_template") or UNMATCHED
                    recorder(route, scope["method"], status, seconds)
                timings = (seconds, first_byte - started)
                _access_line(
                    scope["method"],
                    scope["path"],
                    status,
                    timings,
                    log_health=log_health,
                    slow_seconds=slow_seconds,
                )
                structlog.contextvars.reset_contextvars(**bound)

        return middleware

    return wrap


def _access_line(  # noqa: PLR0913 - the figures of one request
    method: str,
    path: str,
    status: int,
    timings: tuple[float, float],
    *,
    log_health: bool,
    slow_seconds: float,
) -> None:
    seconds, first_byte = timings
    fields = {
        "method": method,
        "path": path,
        "status": status,
        "duration_ms": round(seconds * 1000, 2),
    }
    if seconds >= slow_seconds:
        first_byte_ms = round(max(first_byte, 0.0) * 1000, 2)
        log.warning("request.slow", **fields, first_byte_ms=first_byte_ms, threshold_s=slow_seconds)
    elif log_health or method not in _PROBE_METHODS or not path.startswith(_HEALTH):
        log.info("request", **fields)


def request_context_middleware(app: ASGIApp) -> ASGIApp:
    """`request_context()` with its defaults (no metrics, health probes not logged)."""
    return request_context()(app)
