"""The request id of the work in progress: one id from the click to the inbox.

The HTTP edge sets it for a request, the CLI for a command, the worker for the job it runs;
`JobService` stores it on every job enqueued meanwhile, so the job, its log lines and the
email it sends all carry the id of the request that asked for them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Final
from uuid import uuid4

REQUEST_ID_MAX: Final = 128
_CURRENT: ContextVar[str | None] = ContextVar("market_ai_request_id", default=None)


def current_request_id() -> str | None:
    """The id bound in this context (a request, a command, a running job), if any."""
    return _CURRENT.get()


def new_request_id() -> str:
    """128 random bits as 32 hex digits, the shape the HTTP edge generates too."""
    return uuid4().hex


@contextlib.contextmanager
def request_id_bound(request_id: str | None) -> Iterator[None]:
    """Bind `request_id` for the block (and the tasks it starts), then restore the previous."""
    token = _CURRENT.set(request_id[:REQUEST_ID_MAX] if request_id else None)
    try:
        yield
    finally:
        _CURRENT.reset(token)


def bind_request_id(request_id: str | None) -> None:
    """Bind for the rest of the current task: a worker task runs one job and then ends."""
    _CURRENT.set(request_id[:REQUEST_ID_MAX] if request_id else None)
