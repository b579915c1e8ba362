"""Access log hygiene: health probes stay out unless asked for; slow requests warn."""

from __future__ import annotations

from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

import structlog
from litestar.testing import AsyncTestClient
from structlog.testing import capture_logs

from market_ai.container import build_container
from market_ai.entrypoints.http.app import create_app
from market_ai.entrypoints.http.request_context import request_context
from tests.conftest import make_settings


async def _paths_logged(tmp_path: Path, **values: object) -> list[MutableMapping[str, Any]]:
    settings = make_settings(tmp_path, database_url="memory://", **values)
    async with AsyncTestClient(create_app(build_container(settings))) as client:
        with capture_logs() as events:
            for path in ("/health", "/health/ready", "/health/detailed", "/api/campaigns"):
                await client.get(path)
    return [e for e in events if e["event"] in {"request", "request.slow"}]


async def test_health_probes_stay_out_of_the_access_log_by_default(tmp_path: Path) -> None:
    lines = await _paths_logged(tmp_path)
    assert [line["path"] for line in lines] == ["/api/campaigns"]


async def test_access_log_health_keeps_them(tmp_path: Path) -> None:
    lines = await _paths_logged(tmp_path, access_log_health=True)
    paths = ["/health", "/health/ready", "/health/detailed", "/api/campaigns"]
    assert [line["path"] for line in lines] == paths


async def _one_request(**options: Any) -> list[MutableMapping[str, Any]]:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        _ = scope, receive
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def send(message: Any) -> None:
        _ = message

    async def receive() -> Any:
        return {"type": "http.request", "body": b""}

    scope = {"type": "http", "method": "GET", "path": "/api/x", "headers": []}
    with capture_logs(processors=[structlog.contextvars.merge_contextvars]) as events:
        await request_context(**options)(app)(scope, receive, send)  # type: ignore[arg-type]
    return events


async def test_a_request_over_the_threshold_logs_at_warning_with_its_timings() -> None:
    [line] = await _one_request(slow_seconds=1e-9)  # every request is slower than a nanosecond
    assert (line["event"], line["log_level"]) == ("request.slow", "warning")
    assert line["duration_ms"] >= line["first_byte_ms"] >= 0
    assert line["threshold_s"] == 1e-9
    assert line["request_id"]


async def test_a_request_under_the_threshold_logs_at_info() -> None:
    [line] = await _one_request(slow_seconds=3600)
    assert (line["event"], line["log_level"]) == ("request", "info")
    assert "first_byte_ms" not in line
