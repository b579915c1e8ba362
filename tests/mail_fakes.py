"""Test-only mail doubles: a mailer that records what it was asked to send, or fails."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from market_ai.adapters.memory.unit_of_work import InMemoryStore, InMemoryUnitOfWork
from market_ai.domain.errors import Unavailable
from market_ai.domain.mail import EmailMessage, RecipientRefused
from market_ai.domain.ports import UnitOfWork
from tests.fakes import WrappingUnitOfWork


@dataclass
class RecordingMailer:
    """Keeps every (Message-ID, message) it was given in `sent`.

    `fail_before` errors are raised, one per call, before anything is recorded (a server
    that said no); `fail_after` ones after recording (the server took the message, then the
    worker died before the job could record the send). `refuse` maps an address to the
    SMTP code its RCPT gets (RecipientRefused, nothing recorded).
    """

    domain: str = "example.com"
    sent: list[tuple[str, EmailMessage]] = field(default_factory=list)
    fail_before: list[Exception] = field(default_factory=list)
    fail_after: list[Exception] = field(default_factory=list)
    refuse: dict[str, int] = field(default_factory=dict)

    @property
    def sender_domain(self) -> str:
        return self.domain

    async def send(self, message: EmailMessage, *, message_id: str) -> None:
        if self.fail_before:
            raise self.fail_before.pop(0)
        if message.to[0] in self.refuse:
            raise RecipientRefused(self.refuse[message.to[0]])
        self.sent.append((message_id, message))
        if self.fail_after:
            raise self.fail_after.pop(0)

    def addresses(self) -> list[str]:
        """Every address a message went to, in order, repeats included."""
        return [address for _, message in self.sent for address in message.to]


class _OutageUnitOfWork(WrappingUnitOfWork):
    def __init__(self, inner: UnitOfWork, down: Callable[[], bool]) -> None:
        super().__init__(inner)
        self._down = down

    async def commit(self) -> None:
        if self._down():
            raise Unavailable("the database cannot be reached")
        await self.inner.commit()


@dataclass
class Outage:
    """Units of work on `store` whose next `commits` commits fail as if the database were down."""

    store: InMemoryStore
    commits: int = 0
    failed: int = 0

    def _down(self) -> bool:
        if self.commits <= 0:
            return False
        self.commits -= 1
        self.failed += 1
        return True

    def __call__(self) -> UnitOfWork:
        return _OutageUnitOfWork(InMemoryUnitOfWork(self.store), self._down)
