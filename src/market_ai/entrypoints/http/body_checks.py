"""JSON bodies the stores could choke on are refused at the edge, the same on every backend.

Two kinds: nesting deep enough to exhaust the decoder's recursion (a `RecursionError`, a 500
with a traceback per request), and text Postgres cannot store (the NUL character: a `DataError`
there, silently kept by SQLite and the in-memory store). Both are checked once, before any
handler or job sees the body, for every route that takes one.
"""

from __future__ import annotations

import re
from itertools import accumulate
from typing import TYPE_CHECKING, Any, Final

from litestar import Request
from litestar.exceptions import ClientException, SerializationException

from market_ai.domain.errors import InvalidInput

if TYPE_CHECKING:
    from litestar.connection import ASGIConnection
    from litestar.handlers.base import BaseRouteHandler

MAX_DEPTH: Final = 32
"""Deepest nesting of arrays and objects a body may have; ours need two levels."""

_STRING: Final = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS: Final = bytes(range(256)).translate(None, b"[]{}")  # every byte but brackets
_STEP: Final = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}
UNSTORABLE: Final = "\x00"


def nesting_depth(body: bytes) -> int:
    """How deep a JSON text nests, without decoding it (brackets inside strings ignored)."""
    if body.count(b"[") + body.count(b"{") <= MAX_DEPTH:
        return body.count(b"[") + body.count(b"{")  # an upper bound, and already small
    brackets = _STRING.sub(b"", body).translate(None, _BRACKETS)
    return max(accumulate(_STEP[byte] for byte in brackets), default=0)


def unstorable_text(document: Any) -> str | None:  # noqa: ANN401 - any decoded JSON
    """The path (`name`, `to[1]`, `a.b`) of the first string holding NUL, or None."""
    stack: list[tuple[str, Any]] = [("", document)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, str):
            if UNSTORABLE in value:
                return path or "body"
        elif isinstance(value, dict):
            for key, item in value.items():
                name = str(key).replace(UNSTORABLE, "\\u0000")
                child = f"{path}.{name}" if path else name
                if UNSTORABLE in str(key):
                    return child
                stack.append((child, item))
        elif isinstance(value, list):
            stack.extend((f"{path}[{index}]", item) for index, item in enumerate(value))
    return None


async def refuse_unsafe_json(
    connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
) -> None:
    """Guard for body-taking routes: 400 for deep nesting, 422 naming a field with NUL.

    A guard (composable, runs after authentication) rather than a hook: strangers' bodies
    are never read. The decoded document is cached by the request, so the handler's own
    decoding reuses it; a body that does not decode is left to the framework's error.
    """
    if not isinstance(connection, Request):
        return  # a websocket: no body
    body = await connection.body()
    if not body:
        return
    if nesting_depth(body) > MAX_DEPTH:
        raise ClientException(f"the JSON body nests deeper than {MAX_DEPTH} levels")
    try:
        document = await connection.json()
    except SerializationException:
        return
    if (field := unstorable_text(document)) is not None:
        raise InvalidInput(field, "must not contain the NUL character (\\u0000)")
