"""A loopback SMTP sink (aiosmtpd, in a thread): records what it accepted, can defer addresses."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from tests.servers import free_port


@dataclass
class SmtpSink:
    """`received` holds every accepted message; `replies` answers chosen RCPTs otherwise.

    `delay` (seconds) holds each DATA before answering, so a test can catch sends in flight.
    """

    port: int = 0
    delay: float = 0.0
    replies: dict[str, str] = field(default_factory=dict)
    received: list[EmailMessage] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, *args: Any) -> str:  # noqa: N802 - aiosmtpd's hook name
        """(server, session, envelope, address, options)."""
        envelope, address = args[2], args[3]
        if address in self.replies:
            return self.replies[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, *args: Any) -> str:  # noqa: N802 - aiosmtpd's hook name
        """(server, session, envelope)."""
        if self.delay:
            await asyncio.sleep(self.delay)
        parsed = message_from_bytes(args[2].content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        with self._lock:
            self.received.append(parsed)
        return "250 Message accepted for delivery"

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def message_ids(self) -> Counter[str]:
        with self._lock:
            return Counter(str(m["Message-ID"]) for m in self.received)

    def duplicates(self) -> int:
        """Messages received more than once (the same Message-ID again)."""
        return sum(count - 1 for count in self.message_ids().values())


@contextmanager
def smtp_sink(**options: Any) -> Iterator[SmtpSink]:
    """Start a sink on a free loopback port; stop it afterwards."""
    sink = SmtpSink(port=free_port(), **options)
    controller = Controller(sink, hostname="127.0.0.1", port=sink.port)
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()
