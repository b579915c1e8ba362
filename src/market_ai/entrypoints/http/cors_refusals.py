"""A refused CORS preflight as problem details, like every other 4xx of the API.

Litestar's CORS middleware answers a refused preflight itself, in plain text
(`Disallowed CORS Origin, method`), before any handler or exception handler runs; this
`before_send` hook rewrites that one answer and leaves every other untouched.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

import msgspec

from market_ai.entrypoints.http.problem_types import VALIDATION
from market_ai.entrypoints.http.problems import PROBLEM_JSON

if TYPE_CHECKING:
    from litestar.types import BeforeMessageSendHookHandler, Message, Scope

REFUSED: Final = "Disallowed CORS "
_STATE: Final = "market_ai.cors_refused"
_NAMES: Final = {  # what Litestar lists, as the request header a client should fix
    "Origin": ("Origin", "not in ALLOWED_ORIGINS"),
    "method": ("Access-Control-Request-Method", "method not allowed"),
    "headers": ("Access-Control-Request-Headers", "a header not allowed"),
}


def _body(text: str) -> bytes:
    failed = text.removeprefix(REFUSED).split(", ") if text.startswith(REFUSED) else []
    params = [{"name": _NAMES[f][0], "reason": _NAMES[f][1]} for f in failed if f in _NAMES]
    detail = "CORS preflight refused: " + ", ".join(p["name"] for p in params)
    body: dict[str, object] = {
        "type": VALIDATION.uri,
        "title": "Bad Request",
        "status": 400,
        "detail": detail if params else text,
    }
    if params:
        body["invalid-params"] = params
    return msgspec.json.encode(body)


def cors_problems() -> BeforeMessageSendHookHandler:
    """The hook; the body's length is unknown at the start, so Content-Length is dropped."""

    async def rewrite(message: Message, scope: Scope) -> None:
        state = scope.setdefault("state", {})
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", []))
            plain = any(
                bytes(n).lower() == b"content-type" and bytes(v).startswith(b"text/plain")
                for n, v in headers
            )
            if scope.get("method") == "OPTIONS" and message["status"] == 400 and plain:  # noqa: PLR2004
                state[_STATE] = True
                kept = [(n, v) for n, v in headers if bytes(n).lower() not in _REPLACED]
                message["headers"] = [*kept, (b"content-type", PROBLEM_JSON.encode())]
        elif message["type"] == "http.response.body" and state.pop(_STATE, False):
            message["body"] = _body(bytes(message.get("body", b"")).decode(errors="replace"))

    return rewrite


_REPLACED: Final = frozenset({b"content-type", b"content-length"})
