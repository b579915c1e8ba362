"""Request ids, the access log line, and the JSON log renderer behind them."""

from __future__ import annotations

import io
import json
import logging
import re
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
import structlog
from litestar import Litestar
from litestar.testing import AsyncTestClient
from structlog.testing import capture_logs

from market_ai.entrypoints.http.request_context import request_context_middleware, request_id
from market_ai.logging import configure_logging

HEX32 = re.compile(rb"[0-9a-f]{32}")


@pytest.mark.parametrize("sane", [b"abc-123", b"req_1.2:3", b"x" * 128])
def test_a_sane_caller_id_is_kept(sane: bytes) -> None:
    assert request_id([(b"host", b"h"), (b"x-request-id", sane)]) == sane


@pytest.mark.parametrize("insane", [b"bad id", b"abc\n", b"x" * 129, b"", b"<script>"])
def test_an_insane_caller_id_is_replaced(insane: bytes) -> None:
    generated = request_id([(b"x-request-id", insane)])
    assert HEX32.fullmatch(generated), generated


def test_without_a_caller_id_each_request_gets_a_fresh_one() -> None:
    first, second = request_id([]), request_id([(b"host", b"h")])
    assert HEX32.fullmatch(first)
    assert HEX32.fullmatch(second)
    assert first != second


async def test_one_access_line_per_request_carries_the_id_it_answered_with() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        _ = scope, receive
        structlog.get_logger("inside").info("handler ran")
        await send({"type": "http.response.start", "status": 418, "headers": [(b"a", b"b")]})
        await send({"type": "http.response.body", "body": b""})

    sent: list[dict[str, Any]] = []

    async def send(message: Any) -> None:
        sent.append(message)

    async def receive() -> Any:
        return {"type": "http.request", "body": b""}

    scope = {"type": "http", "method": "GET", "path": "/x", "headers": []}
    with capture_logs(processors=[structlog.contextvars.merge_contextvars]) as events:
        await request_context_middleware(app)(scope, receive, send)  # type: ignore[arg-type]
    headers = dict(sent[0]["headers"])
    assert headers[b"a"] == b"b"
    rid = headers[b"x-request-id"].decode()
    inside, access = events
    assert inside["request_id"] == rid, "what a handler logs carries the request id"
    assert access["event"] == "request"
    assert (access["method"], access["path"], access["status"]) == ("GET", "/x", 418)
    assert access["request_id"] == rid
    assert "request_id" not in structlog.contextvars.get_contextvars(), "unbound afterwards"


@pytest.fixture
def restored_logging() -> Iterator[None]:
    config = structlog.get_config()
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    structlog.configure(**config)
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.mark.usefixtures("restored_logging")
def test_json_logs_are_one_object_per_line_from_structlog_and_the_stdlib(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("INFO", json=True)
    log = structlog.get_logger("test")
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    log.info("hello", n=1, price=Decimal("1.50"), when=when, thing=object())
    log.debug("hidden below INFO")
    logging.getLogger("library").error("failed", exc_info=ValueError("boom"))
    sys.stdout.flush()
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(lines) == 2
    hello, failed = lines
    assert hello["event"] == "hello"
    assert hello["level"] == "info"
    assert hello["n"] == 1
    assert hello["price"] == "1.50"
    assert hello["when"] == "2026-01-02T03:04:05Z"
    assert hello["thing"].startswith("<object object")
    assert hello["timestamp"].endswith("Z")
    assert failed["event"] == "failed"
    assert failed["level"] == "error"
    assert "ValueError: boom" in failed["exception"], "stdlib tracebacks are kept as text"


@pytest.mark.usefixtures("restored_logging")
def test_json_logs_fall_back_to_text_when_stdout_has_no_byte_buffer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    text = io.StringIO()
    monkeypatch.setattr(sys, "stdout", text)
    configure_logging("INFO", json=True)
    structlog.get_logger("test").info("hello", n=1)
    assert json.loads(text.getvalue())["n"] == 1


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("GET", "/no/such/route", 404), ("DELETE", "/health", 405), ("GET", "/api/nope", 404)],
)
async def test_unknown_routes_and_methods_get_an_id_and_a_log_line(
    client: AsyncTestClient[Litestar], method: str, path: str, status: int
) -> None:
    """The router answers these before any route middleware runs: the id wraps the router."""
    with capture_logs() as events:
        response = await client.request(method, path, headers={"X-Request-ID": "trace-404"})
    assert response.status_code == status
    assert response.headers["x-request-id"] == "trace-404"
    access = [e for e in events if e["event"] == "request"]
    assert access == [
        {
            "event": "request",
            "log_level": "info",
            "method": method,
            "path": path,
            "status": status,
            "duration_ms": access[0]["duration_ms"],
        }
    ]
