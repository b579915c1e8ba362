"""Test-only mail doubles: a mailer that records what it was asked to send, or fails."""

from __future__ import annotations

from dataclasses import dataclass, field

from market_ai.domain.mail import EmailMessage


@dataclass
class RecordingMailer:
    """Keeps every (Message-ID, message) it was given in `sent`.

    `fail_before` errors are raised, one per call, before anything is recorded (a server
    that said no); `fail_after` ones after recording (the server took the message, then the
    worker died before the job could record the send).
    """

    domain: str = "example.com"
    sent: list[tuple[str, EmailMessage]] = field(default_factory=list)
    fail_before: list[Exception] = field(default_factory=list)
    fail_after: list[Exception] = field(default_factory=list)

    @property
    def sender_domain(self) -> str:
        return self.domain

    async def send(self, message: EmailMessage, *, message_id: str) -> None:
        if self.fail_before:
            raise self.fail_before.pop(0)
        self.sent.append((message_id, message))
        if self.fail_after:
            raise self.fail_after.pop(0)
