"""Drain on SIGTERM: answer what was read, start nothing the server may not deliver.

Hypercorn closes idle keep-alive connections when it stops, and a request read on such a
connection in the same instant still reaches the app: the app commits and the answer goes
nowhere (a client that retries then duplicates the write). So once the stop is announced
(`Drain.close`), a request that had not reached the app gets a 503 with `Connection: close`
and never runs; requests already running finish and answer with `Connection: close`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, Final

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_CLOSE: Final = (b"connection", b"close")
_REFUSED: Final = b'{"status":503,"title":"Service Unavailable","detail":"shutting down"}'


class Drain:
    """An ASGI wrapper that knows whether the process is stopping."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app
        self.closing = False

    def close(self) -> None:
        """From now on: new requests are refused, running ones answer with Connection: close."""
        self.closing = True

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass lifespan and websockets through; guard HTTP requests."""
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        if self.closing:
            await _refuse(send)
            return

        async def closing_send(message: Message) -> None:
            if message["type"] == "http.response.start" and self.closing:
                headers = [h for h in message.get("headers", ()) if h[0].lower() != b"connection"]
                message = {**message, "headers": [*headers, _CLOSE]}
            await send(message)

        await self._app(scope, receive, closing_send)


async def _refuse(send: Send) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"content-length", str(len(_REFUSED)).encode()),
                (b"retry-after", b"1"),
                _CLOSE,
            ],
        }
    )
    await send({"type": "http.response.body", "body": _REFUSED})
