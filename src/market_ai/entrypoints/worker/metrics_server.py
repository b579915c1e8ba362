"""`market-ai worker --metrics-port`: the worker's own /metrics, on the worker's event loop.

A few lines of HTTP/1.0 rather than a web framework: one route, one scraper, and the
same METRICS_TOKEN rule as the API's /metrics.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Final

import structlog

if TYPE_CHECKING:
    from market_ai.domain.job_overview import JobMonitor, JobOverview

log = structlog.get_logger(__name__)
READ_TIMEOUT: Final = 5.0
HEAD_MAX: Final = 16 * 1024


async def _overview(monitor: JobMonitor) -> JobOverview | None:
    try:
        async with asyncio.timeout(2.0):
            return await monitor.overview()
    except Exception as exc:  # noqa: BLE001 - the scrape answers; figures_up says 0
        log.warning("metrics.job_figures_failed", error=type(exc).__name__)
        return None


def _response(status: str, body: bytes, content_type: str = "text/plain") -> bytes:
    head = (
        f"HTTP/1.0 {status}\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body


async def _answer(reader: asyncio.StreamReader, token: str | None, monitor: JobMonitor) -> bytes:
    async with asyncio.timeout(READ_TIMEOUT):
        head = await reader.readuntil(b"\r\n\r\n")
    if len(head) > HEAD_MAX:
        return _response("431 Request Header Fields Too Large", b"")
    request_line, *lines = head.decode("latin-1").split("\r\n")
    method, _, rest = request_line.partition(" ")
    path = rest.partition(" ")[0].partition("?")[0]
    if method != "GET" or path != "/metrics":
        return _response("404 Not Found", b"only GET /metrics here\n")
    if token is not None:
        given = next(
            (
                v.strip()
                for k, _, v in (line.partition(":") for line in lines)
                if k.strip().lower() == "authorization"
            ),
            "",
        )
        if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            return _response("401 Unauthorized", b"metrics need the METRICS_TOKEN\n")
    from market_ai.observability.metrics import CONTENT_TYPE, exposition  # noqa: PLC0415

    return _response("200 OK", exposition(await _overview(monitor)), CONTENT_TYPE)


@contextlib.asynccontextmanager
async def metrics_server(
    host: str, port: int, *, token: str | None, monitor: JobMonitor
) -> AsyncIterator[asyncio.Server]:
    """Serve /metrics while the block runs."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            writer.write(await _answer(reader, token, monitor))
            await writer.drain()
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, OSError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, host, port, limit=HEAD_MAX)
    log.info("worker.metrics_listening", host=host, port=port)
    try:
        yield server
    finally:
        server.close()
        await server.wait_closed()
