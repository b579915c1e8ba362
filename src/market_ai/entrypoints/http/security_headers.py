"""Security headers added to every response, whoever answered it (handler, router, CORS)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from litestar.types import BeforeMessageSendHookHandler, Message, Scope

HSTS: Final = b"max-age=63072000; includeSubDomains"
API_CSP: Final = b"default-src 'none'; frame-ancestors 'none'"
DOCS_CSP: Final = b"frame-ancestors 'none'"  # the docs page loads its scripts and styles
_ALWAYS: Final = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
)


def security_headers(
    *, production: bool, docs_path: str = "/schema"
) -> BeforeMessageSendHookHandler:
    """A `before_send` hook, so it also sees 404s, CORS preflights and 413s.

    Route-level middleware would miss answers given before a route is matched.

    A header the handler already set is left alone. /api answers are personal data, so
    they get `Cache-Control: no-store` unless the handler chose otherwise. HSTS is sent in
    production only: there TLS is terminated in front of us; on a laptop it would pin
    `localhost` to https for two years.
    """
    extra = ((b"strict-transport-security", HSTS),) if production else ()

    async def add_headers(message: Message, scope: Scope) -> None:
        if message["type"] != "http.response.start":
            return
        headers = list(message.get("headers", []))
        present = {bytes(name).lower() for name, _ in headers}
        path: str = scope.get("path", "")
        docs = path == docs_path or path.startswith(f"{docs_path}/")
        wanted = [*_ALWAYS, *extra, (b"content-security-policy", DOCS_CSP if docs else API_CSP)]
        if path == "/api" or path.startswith("/api/"):
            wanted.append((b"cache-control", b"no-store"))
        headers.extend((name, value) for name, value in wanted if name not in present)
        message["headers"] = headers

    return add_headers
