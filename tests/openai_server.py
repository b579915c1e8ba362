"""A loopback HTTP server speaking the OpenAI Responses wire format, with scripted failures."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from uuid import uuid4


@dataclass
class Reply:
    """One scripted answer: a status (200 or an error), and what a 200 carries."""

    status: int = 200
    text: str = "Fresh copy for the campaign."
    model: str = "gpt-4o-mini-2024-07-18"
    input_tokens: int = 120
    cached_tokens: int = 0
    output_tokens: int = 40
    reasoning_tokens: int = 0
    searches: int = 0  # file_search_call items in the output
    cited: tuple[str, ...] = ()
    delay: float = 0.0
    retry_after: str | None = None
    # "drop": close the connection after reading the request, with no answer; "truncate":
    # send the headers and half the body, then close (the provider may have billed both).
    fault: Literal["drop", "truncate"] | None = None
    echo_key: bool = False  # an error body that quotes the Authorization header (a gateway)
    status_text: str = "completed"
    incomplete_reason: str | None = None  # "max_output_tokens": out of budget mid-answer


@dataclass
class OpenAIServer:
    """POST /v1/responses answers the next scripted Reply (the default one when none is left).

    `received` keeps every request body, in order, so tests assert on what was sent.
    """

    default: Reply = field(default_factory=Reply)
    script: deque[Reply] = field(default_factory=deque)
    received: list[dict[str, Any]] = field(default_factory=list)
    _httpd: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def base_url(self) -> str:
        """What OPENAI_BASE_URL is set to."""
        assert self._httpd is not None
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def start(self) -> None:
        """Listen on a free loopback port, serving from a daemon thread."""
        handler = type("Handler", (_Handler,), {"server_of": self})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()


class _Handler(BaseHTTPRequestHandler):
    """Answers from the owning OpenAIServer's script."""

    server_of: OpenAIServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """Keep the test output clean."""

    def do_POST(self) -> None:
        server = self.server_of
        length = int(self.headers.get("Content-Length", "0"))
        body = json.loads(self.rfile.read(length) or b"{}")
        with server._lock:
            server.received.append(body)
            reply = server.script.popleft() if server.script else server.default
        if reply.delay:
            time.sleep(reply.delay)
        self._answer(body, reply)

    def _answer(self, body: dict[str, Any], reply: Reply) -> None:
        if reply.fault == "drop":
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
        elif self.path != "/v1/responses":
            self._send(404, {"error": {"message": "no such route", "type": "invalid"}})
        elif reply.status != 200:
            headers = {"retry-after": reply.retry_after} if reply.retry_after else {}
            message = f"scripted {reply.status}"
            if reply.echo_key:
                message += f" for {self.headers.get('Authorization')}"
            error = {"message": message, "type": "server_error"}
            self._send(reply.status, {"error": error}, headers)
        else:
            self._send(200, response_body(body, reply), truncate=reply.fault is not None)

    def _send(
        self,
        status: int,
        payload: dict[str, Any],
        headers: dict[str, str] | None = None,
        *,
        truncate: bool = False,
    ) -> None:
        data = json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data[: len(data) // 2] if truncate else data)
            if truncate:
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
        except (BrokenPipeError, ConnectionResetError):
            return  # the client gave up (a timeout test)


def response_body(request: dict[str, Any], reply: Reply) -> dict[str, Any]:
    """A Responses API object as the real service returns it (the fields the SDK reads)."""
    output: list[dict[str, Any]] = [
        {
            "id": f"fs_{uuid4().hex[:12]}",
            "type": "file_search_call",
            "status": "completed",
            "queries": ["brand voice"],
            "results": [
                {"file_id": file_id, "filename": f"{file_id}.pdf", "score": 0.9, "text": "..."}
                for file_id in reply.cited
            ],
        }
        for _ in range(reply.searches)
    ]
    annotations = [
        {"type": "file_citation", "file_id": file_id, "filename": f"{file_id}.pdf", "index": 0}
        for file_id in reply.cited
    ]
    if not reply.text:  # a reasoning model that spent its cap thinking: no message at all
        output.append({"id": f"rs_{uuid4().hex[:12]}", "type": "reasoning", "summary": []})
    else:
        output.append(
            {
                "id": f"msg_{uuid4().hex[:12]}",
                "type": "message",
                "role": "assistant",
                "status": "completed",
                "content": [
                    {"type": "output_text", "text": reply.text, "annotations": annotations}
                ],
            }
        )
    return {
        "id": f"resp_{uuid4().hex[:12]}",
        "object": "response",
        "created_at": int(time.time()),
        "status": reply.status_text,
        "incomplete_details": (
            {"reason": reply.incomplete_reason} if reply.incomplete_reason else None
        ),
        "model": reply.model,
        "output": output,
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": request.get("tools", []),
        "max_output_tokens": request.get("max_output_tokens"),
        "max_tool_calls": request.get("max_tool_calls"),
        "usage": {
            "input_tokens": reply.input_tokens,
            "input_tokens_details": {"cached_tokens": reply.cached_tokens},
            "output_tokens": reply.output_tokens,
            "output_tokens_details": {"reasoning_tokens": reply.reasoning_tokens},
            "total_tokens": reply.input_tokens + reply.output_tokens,
        },
    }
