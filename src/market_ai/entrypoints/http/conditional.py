"""Conditional requests (RFC 9110 §13): strong ETags, If-None-Match -> 304, If-Match parsing.

A GET's tag is a hash of the exact bytes it answers (plus the paging headers that travel
with them), so any instance computes the same tag for the same answer and no tag can be
stale. A campaign's tag is its `version` instead (`"v7"`): the body is a function of the row,
and a PATCH or DELETE can check the version atomically against the row it writes.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any, Final

from litestar.enums import ScopeType

from market_ai.domain.errors import PreconditionRequired

if TYPE_CHECKING:
    from collections.abc import Collection

    from litestar import Request
    from litestar.types import ASGIApp, Message, Receive, Scope, Send

CACHE_CONTROL: Final = b"private, no-cache"  # browsers keep it, and revalidate every time
# Headers whose values are part of what a list answers, so part of its tag.
_TAGGED_HEADERS: Final = (b"x-total-count", b"x-page-number")
_DROPPED_ON_304: Final = frozenset({b"content-length", b"content-type"})


def campaign_etag(version: int) -> str:
    """The strong tag of a campaign's representation at `version`."""
    return f'"v{version}"'


def body_etag(body: bytes, headers: list[tuple[bytes, bytes]]) -> bytes:
    """A strong tag for these exact bytes: the same answer gets the same tag on any instance."""
    digest = hashlib.blake2b(body, digest_size=16)
    for name, value in headers:
        if name.lower() in _TAGGED_HEADERS:
            digest.update(b"\0" + name.lower() + b"=" + value)
    return b'"' + digest.hexdigest().encode() + b'"'


def _tags(header: str) -> list[str]:
    return [tag.strip() for tag in header.split(",") if tag.strip()]


def none_match(header: str | None, etag: str) -> bool:
    """True when If-None-Match names `etag` (weak comparison, as §13.1.2 asks) or is `*`."""
    if header is None:
        return False
    bare = etag.removeprefix("W/")
    return any(tag == "*" or tag.removeprefix("W/") == bare for tag in _tags(header))


def if_match_versions(request: Request[Any, Any, Any]) -> Collection[int] | None:
    """The campaign versions If-Match allows; None when any will do (absent or `*`).

    Strong comparison (§13.1.1): a weak or foreign tag matches no version, so the write
    answers 412. With REQUIRE_IF_MATCH a write without the header answers 428.
    """
    header = request.headers.get("if-match")
    if header is None:
        if request.app.state.get("require_if_match", False):
            raise PreconditionRequired("send If-Match with the ETag of the campaign you change")
        return None
    tags = _tags(header)
    if "*" in tags:
        return None
    versions = set()
    for tag in tags:
        if tag.startswith('"v') and tag.endswith('"') and tag[2:-1].isdigit():
            versions.add(int(tag[2:-1]))
    return versions


def conditional_get(app: ASGIApp) -> ASGIApp:
    """Route middleware: tag a 200 GET, and answer 304 with no body when the client has it.

    The answer is buffered to be hashed (these routes answer bounded JSON pages). A tag the
    handler set itself (a campaign's version) is kept. Other statuses pass untouched.
    """

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or scope.get("method") not in {"GET", "HEAD"}:
            await app(scope, receive, send)
            return
        start: dict[str, Any] | None = None
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start" and message["status"] == 200:  # noqa: PLR2004
                start = dict(message)
                return
            if message["type"] != "http.response.body" or start is None:
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                await _answer(scope, send, start, b"".join(chunks))

        await app(scope, receive, capture)

    return middleware


async def _answer(scope: Scope, send: Send, start: dict[str, Any], body: bytes) -> None:
    headers = [(bytes(n).lower(), bytes(v)) for n, v in start.get("headers", [])]
    given = next((v for n, v in headers if n == b"etag"), None)
    etag = given or body_etag(body, headers)
    headers = [(n, v) for n, v in headers if n not in {b"etag", b"cache-control"}]
    headers += [(b"etag", etag), (b"cache-control", CACHE_CONTROL)]
    asked = next((bytes(v) for n, v in scope.get("headers", []) if n == b"if-none-match"), None)
    if none_match(None if asked is None else asked.decode("latin-1"), etag.decode()):
        kept = [(n, v) for n, v in headers if n not in _DROPPED_ON_304]
        await send({"type": "http.response.start", "status": 304, "headers": kept})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        return
    await send({**start, "headers": headers})  # type: ignore[arg-type]
    await send({"type": "http.response.body", "body": body, "more_body": False})
