"""Raw-socket clients that send headers a line at a time (slowloris), for tests and benchmarks."""

from __future__ import annotations

import select
import socket
import time
from urllib.parse import urlsplit


def _address(base: str) -> tuple[str, int]:
    parts = urlsplit(base)
    return parts.hostname or "127.0.0.1", parts.port or 80


def dribble(base: str, connections: int, seconds: float, every: float = 0.5) -> list[float | None]:
    """Open `connections` sockets that start a request and add a header line every `every` s.

    Runs for `seconds` at most (bounded in time and count); returns, per connection, how
    long after it was opened the server closed it, or None if it was still open at the end.
    """
    host, port = _address(base)
    opened: list[tuple[socket.socket, float]] = []
    closed: list[float | None] = [None] * connections
    try:
        for _ in range(connections):
            sock = socket.create_connection((host, port), timeout=5)
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: test\r\n")
            sock.setblocking(False)  # noqa: FBT003 - the socket module's own signature
            opened.append((sock, time.monotonic()))
        end = time.monotonic() + seconds
        while time.monotonic() < end and any(c is None for c in closed):
            for index, (sock, started) in enumerate(opened):
                if closed[index] is None and _closed_by_peer(sock):
                    closed[index] = time.monotonic() - started
            time.sleep(every)
    finally:
        for sock, _ in opened:
            sock.close()
    return closed


def _closed_by_peer(sock: socket.socket) -> bool:
    """Send one more header line; True once the server has closed the connection."""
    try:
        readable, _, _ = select.select([sock], [], [], 0)
        if readable and sock.recv(65536) == b"":
            return True
        sock.send(b"X-Slow: 1\r\n")
    except OSError:  # reset or broken pipe: closed
        return True
    return False


def request_on(sock: socket.socket) -> bytes:
    """One complete GET /health on an open blocking socket; the status line it got."""
    sock.sendall(b"GET /health HTTP/1.1\r\nHost: test\r\n\r\n")
    received = b""
    while b"\r\n\r\n" not in received:
        chunk = sock.recv(65536)
        if not chunk:
            return b""
        received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    length = next(
        (
            int(line.split(b":")[1])
            for line in head.lower().split(b"\r\n")
            if line.startswith(b"content-length:")
        ),
        0,
    )
    while len(body) < length:
        body += sock.recv(65536)
    return head.split(b"\r\n", 1)[0]


def connect(base: str) -> socket.socket:
    """A blocking socket to the server of `base`."""
    return socket.create_connection(_address(base), timeout=10)
