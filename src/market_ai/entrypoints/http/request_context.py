"""Per-request id and access log, as a plain ASGI middleware (cheap on the hot path)."""

from __future__ import annotations

import os
import re
import time
from typing import TYPE_CHECKING, Final

import structlog
from litestar.enums import ScopeType

if TYPE_CHECKING:
    from collections.abc import Iterable

    from litestar.types import ASGIApp, Message, Receive, Scope, Send

log = structlog.get_logger("market_ai.access")
_SAFE_ID: Final = re.compile(rb"[A-Za-z0-9._:-]{1,128}")
_HEADER: Final = b"x-request-id"


def request_id(headers: Iterable[tuple[bytes, bytes]]) -> bytes:
    """The caller's X-Request-ID if it is sane, else 128 random bits as 32 hex digits."""
    for name, value in headers:
        if name == _HEADER:
            return value if _SAFE_ID.fullmatch(value) else os.urandom(16).hex().encode()
    return os.urandom(16).hex().encode()


def request_context_middleware(app: ASGIApp) -> ASGIApp:
    """Give every request an X-Request-ID (the caller's, if sane) and log one line per request.

    The id is bound into structlog's context for everything logged while the request runs.
    """

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        rid = request_id(scope["headers"])
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), (_HEADER, rid)]
            await send(message)

        bound = structlog.contextvars.bind_contextvars(request_id=rid.decode("latin-1"))
        try:
            await app(scope, receive, send_with_id)
        finally:
            log.info(
                "request",
                method=scope["method"],
                path=scope["path"],
                status=status,
                duration_ms=round((time.perf_counter() - started) * 1000, 2),
            )
            structlog.contextvars.reset_contextvars(**bound)

    return middleware
