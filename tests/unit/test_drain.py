"""The drain guard: after the stop is announced nothing new runs, and answers close."""

from __future__ import annotations

import asyncio
from collections.abc import MutableMapping
from typing import Any

from market_ai.entrypoints.http.drain import Drain

Message = MutableMapping[str, Any]


def _scope() -> dict[str, Any]:
    return {"type": "http", "method": "POST", "path": "/api/campaigns", "headers": []}


async def _receive() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


async def test_a_request_started_before_the_stop_finishes_and_answers_with_connection_close() -> (
    None
):
    started, release, ran = asyncio.Event(), asyncio.Event(), []

    async def app(scope: Any, _receive: Any, send: Any) -> None:
        started.set()
        await release.wait()
        ran.append(scope["path"])
        await send({"type": "http.response.start", "status": 201, "headers": [(b"x", b"1")]})
        await send({"type": "http.response.body", "body": b"{}"})

    drain = Drain(app)
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    running = asyncio.create_task(drain(_scope(), _receive, send))
    await started.wait()
    drain.close()
    release.set()
    await running
    assert ran == ["/api/campaigns"]
    assert sent[0]["status"] == 201
    assert (b"connection", b"close") in sent[0]["headers"]
    assert (b"x", b"1") in sent[0]["headers"]


async def test_a_request_arriving_after_the_stop_is_refused_without_running() -> None:
    ran: list[str] = []

    async def app(scope: Any, _receive: Any, send: Any) -> None:  # noqa: ARG001
        ran.append(scope["path"])

    drain = Drain(app)
    drain.close()
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    await drain(_scope(), _receive, send)
    assert ran == []
    assert sent[0]["status"] == 503
    headers = dict(sent[0]["headers"])
    assert headers[b"connection"] == b"close"
    assert headers[b"retry-after"] == b"1"


async def test_lifespan_passes_through_while_stopping() -> None:
    seen: list[str] = []

    async def app(scope: Any, _receive: Any, send: Any) -> None:  # noqa: ARG001
        seen.append(scope["type"])

    drain = Drain(app)
    drain.close()

    async def send(message: Message) -> None:
        del message

    await drain({"type": "lifespan"}, _receive, send)
    assert seen == ["lifespan"]
