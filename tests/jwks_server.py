"""A JWKS endpoint on loopback (a real HTTP server in a thread) that counts its fetches."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Self

from tests.servers import LOOPBACK
from tests.tokens import KeyRing

JWKS_PATH = "/.well-known/jwks.json"


class JwksServer:
    """Publishes `ring` the way Clerk's Frontend API does; `failing` makes it answer 503."""

    def __init__(self, ring: KeyRing) -> None:
        self.ring = ring
        self.fetches = 0
        self.failing = False
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer((LOOPBACK, 0), self._handler())
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        """The JWKS URL to put in CLERK_JWKS_URL."""
        return f"http://{LOOPBACK}:{self._server.server_address[1]}{JWKS_PATH}"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                with owner._lock:
                    owner.fetches += 1
                    failing, body = owner.failing, owner.ring.document()
                if self.path != JWKS_PATH or failing:
                    self.send_error(404 if self.path != JWKS_PATH else 503)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                """Quiet: the test asserts on `fetches`, not on an access log."""

        return Handler

    def start(self) -> None:
        """Serve in a daemon thread."""
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
