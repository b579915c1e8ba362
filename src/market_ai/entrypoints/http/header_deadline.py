"""A deadline for a request's headers under Hypercorn, which has no setting for one.

Hypercorn bounds header time only by `keep_alive_timeout` (its idle timer runs until a
request's headers are complete), and `read_timeout` resets with every byte, so a client
dribbling a header byte every few seconds holds a connection for the whole keep-alive
time (75 s in deploy/hypercorn.toml, kept longer than the load balancer's idle timeout so
the balancer, not us, closes idle connections). Here a request's headers must be complete
within HTTP_HEADER_TIMEOUT_SECONDS: counted from the connection's start for its first
request and from the first byte of each later one, so idle kept-alive connections keep
their 75 s while a slow header costs at most the deadline. Bodies are not concerned.

It works by wrapping the stream reader of Hypercorn's asyncio TCPServer (a subclass is
put in `hypercorn.asyncio.run`, the name its accept callback calls): when the deadline
passes, the pending read raises TimeoutError, which Hypercorn already treats as a read
timeout, and the connection is closed at once (Hypercorn itself would leave it open until
its keep-alive timer fires). Only the asyncio and uvloop workers are covered.
tests/e2e/test_slow_headers.py holds a real `market-ai serve` to it, so a Hypercorn
upgrade that changes these internals fails there, not in production.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, cast

import hypercorn.asyncio.run
from hypercorn.asyncio.tcp_server import TCPServer
from hypercorn.events import Updated

if TYPE_CHECKING:
    from hypercorn.asyncio.worker_context import WorkerContext
    from hypercorn.config import Config
    from hypercorn.events import Event
    from hypercorn.typing import AppWrapper, LifespanState

_NEXT_BYTE: float = float("inf")  # between requests: the deadline starts with their first byte


class _HeaderClock:
    """When the current request's headers are due; None while a request is being served."""

    def __init__(self, reader: asyncio.StreamReader, timeout: float) -> None:
        self._reader = reader
        self._timeout = timeout
        self._loop = asyncio.get_running_loop()
        self.due: float | None = self._loop.time() + timeout
        self.overdue = False

    def at_eof(self) -> bool:
        return self._reader.at_eof()

    async def read(self, size: int = -1) -> bytes:
        if self.due is None or self.due == _NEXT_BYTE:
            data = await self._reader.read(size)
            if data and self.due == _NEXT_BYTE:
                self.due = self._loop.time() + self._timeout
            return data
        try:
            async with asyncio.timeout_at(self.due):
                return await self._reader.read(size)
        except TimeoutError:
            self.overdue = True
            raise


class HeaderDeadlineServer(TCPServer):
    """Hypercorn's TCPServer whose reads give up once a request's headers are overdue."""

    header_timeout: float = 10.0

    def __init__(  # noqa: PLR0913, PLR0917 - Hypercorn's own signature
        self,
        app: AppWrapper,
        loop: asyncio.AbstractEventLoop,
        config: Config,
        context: WorkerContext,
        state: LifespanState,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        self._clock = _HeaderClock(reader, self.header_timeout)
        timed = cast("asyncio.StreamReader", self._clock)  # read() and at_eof() are all it uses
        super().__init__(app, loop, config, context, state, timed, writer)

    async def _read_data(self) -> None:
        await super()._read_data()
        if self._clock.overdue:  # close now: Hypercorn would wait for its keep-alive timer
            await self._close()

    async def protocol_send(self, event: Event) -> None:
        """Hypercorn marks a connection busy when headers are complete, idle when done."""
        if isinstance(event, Updated):
            self._clock.due = _NEXT_BYTE if event.idle else None
        await super().protocol_send(event)


def bound_header_time(seconds: float) -> None:
    """Make this process's Hypercorn asyncio workers enforce the header deadline."""

    class Bounded(HeaderDeadlineServer):
        header_timeout = seconds

    hypercorn.asyncio.run.TCPServer = Bounded  # type: ignore[attr-defined]
