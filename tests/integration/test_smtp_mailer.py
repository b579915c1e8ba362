"""SmtpMailer against a real SMTP server (aiosmtpd) on loopback: what it receives, and refusals."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from email import message_from_bytes, policy
from typing import Any
from uuid import uuid4

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword

from market_ai.adapters.smtp.mailer import SmtpMailer, SmtpTransientError
from market_ai.domain.jobs import PermanentJobError, describe_error
from market_ai.domain.mail import EmailMessage, Mailer, RecipientRefused, message_id

pytestmark = [
    pytest.mark.integration,
    # Plain AUTH is fine on loopback; aiosmtpd warns about it for real networks.
    pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning"),
]
USER, PASSWORD = "mailer@corp", "s3cret/with:odd@chars"
MESSAGE = EmailMessage(
    to=("ops@example.com", "cfo@example.org"),
    subject="Spring launch — week 2",
    body="Spend is on pace.\nROAS 2.5.\n",
)
ONE = EmailMessage(to=("ops@example.com",), subject="Weekly", body="Figures.\n")


@dataclass
class Inbox:
    """What the server accepted, and how it should answer the next RCPT (None: accept)."""

    envelopes: list[Envelope] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)
    rcpt_reply: str | None = None
    unknown: set[str] = field(default_factory=set)  # addresses answered 550

    async def handle_RCPT(self, *args: Any) -> str:  # noqa: N802 - aiosmtpd's hook name
        """(server, session, envelope, address, options), as aiosmtpd calls it."""
        envelope, address = args[2], args[3]
        if self.rcpt_reply is not None:
            return self.rcpt_reply
        if address in self.unknown:
            return "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, *args: Any) -> str:  # noqa: N802 - aiosmtpd's hook name
        """(server, session, envelope)."""
        self.envelopes.append(args[2])
        return "250 Message accepted for delivery"

    def authenticate(self, *args: Any) -> AuthResult:
        """(server, session, envelope, mechanism, data); an unhandled failure answers 535."""
        data = args[-1]
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
            USER.encode(),
            PASSWORD.encode(),
        )
        if ok:
            self.logins.append(USER)
        return AuthResult(success=ok, handled=False)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    """A real SMTP server on loopback that requires AUTH, in a thread of its own."""
    handler = Inbox()
    port = _free_port()
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=port,
        authenticator=handler.authenticate,
        auth_required=True,
        auth_require_tls=False,
    )
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


def _url(port: int, password: str = PASSWORD) -> str:
    quoted = password.replace("%", "%25").replace("/", "%2F").replace(":", "%3A")
    return f"smtp://{USER.replace('@', '%40')}:{quoted.replace('@', '%40')}@127.0.0.1:{port}"


def _mailer(port: int, password: str = PASSWORD) -> SmtpMailer:
    return SmtpMailer(_url(port, password), "market-ai <noreply@corp.example>", timeout=5)


async def test_the_server_receives_the_envelope_and_the_message(inbox: tuple[Inbox, int]) -> None:
    handler, port = inbox
    mailer: Mailer = _mailer(port)
    mid = message_id(uuid4(), mailer.sender_domain)
    await mailer.send(MESSAGE, message_id=mid)
    assert handler.logins == [USER]  # URL-decoded credentials reached AUTH
    [envelope] = handler.envelopes
    assert envelope.mail_from == "noreply@corp.example"
    assert envelope.rcpt_tos == ["ops@example.com", "cfo@example.org"]
    assert isinstance(envelope.content, bytes)
    received = message_from_bytes(envelope.content, policy=policy.default)
    assert received["From"] == "market-ai <noreply@corp.example>"
    assert received["To"] == "ops@example.com, cfo@example.org"
    assert received["Subject"] == MESSAGE.subject
    assert received["Message-ID"] == mid
    assert mid.endswith("@corp.example>")
    body = received.get_body()
    assert body is not None
    assert body.get_content().replace("\r\n", "\n") == MESSAGE.body  # SMTP lines end in CRLF


async def test_a_5xx_recipient_refusal_is_final_for_that_recipient(
    inbox: tuple[Inbox, int],
) -> None:
    handler, port = inbox
    handler.rcpt_reply = "550 5.1.1 No such user at internal-relay-7.corp.lan"
    with pytest.raises(RecipientRefused) as refused:
        await _mailer(port).send(ONE, message_id="<x@corp.example>")
    assert refused.value.permanent
    assert str(refused.value) == "SMTP server refused the recipient (550)"
    assert handler.envelopes == []


async def test_a_4xx_recipient_refusal_is_retried(inbox: tuple[Inbox, int]) -> None:
    handler, port = inbox
    handler.rcpt_reply = "451 4.3.0 Try again later"
    with pytest.raises(RecipientRefused) as refused:
        await _mailer(port).send(ONE, message_id="<x@corp.example>")
    assert not refused.value.permanent
    assert str(refused.value) == "SMTP server refused the recipient (451)"


async def test_wrong_credentials_are_permanent_with_a_fixed_text_and_a_detailed_log(
    inbox: tuple[Inbox, int], caplog: pytest.LogCaptureFixture
) -> None:
    _, port = inbox
    with pytest.raises(PermanentJobError) as error:
        await _mailer(port, password="wrong-pass").send(MESSAGE, message_id="<x@corp.example>")
    assert str(error.value) == "SMTP server refused the login (535)"
    [record] = [r for r in caplog.records if r.getMessage().startswith("mail.smtp_failed")]
    logged = record.getMessage()
    assert f"host=127.0.0.1:{port}" in logged  # the operator sees where
    assert "SMTPAuthenticationError" in logged
    assert "wrong-pass" not in logged  # and never the password


async def test_a_server_that_is_not_there_is_retried_without_naming_the_host() -> None:
    mailer = SmtpMailer(f"smtp://127.0.0.1:{_free_port()}", "noreply@corp.example", timeout=2)
    with pytest.raises(SmtpTransientError) as error:
        await mailer.send(MESSAGE, message_id="<x@corp.example>")
    assert str(error.value) == "SMTP server unreachable"
    assert describe_error(error.value) == "SmtpTransientError: SMTP server unreachable"


async def test_some_recipients_refused_still_counts_as_sent(inbox: tuple[Inbox, int]) -> None:
    handler, port = inbox
    handler.unknown = {"cfo@example.org"}
    await _mailer(port).send(MESSAGE, message_id="<x@corp.example>")  # no error: not retried
    [envelope] = handler.envelopes
    assert envelope.rcpt_tos == ["ops@example.com"]


async def test_the_unsubscribe_headers_reach_the_server(inbox: tuple[Inbox, int]) -> None:
    handler, port = inbox
    link = "https://api.example.com/unsubscribe/abc.def"
    await _mailer(port).send(replace(ONE, unsubscribe_url=link), message_id="<u@corp.example>")
    [envelope] = handler.envelopes
    assert isinstance(envelope.content, bytes)
    received = message_from_bytes(envelope.content, policy=policy.default)
    assert received["List-Unsubscribe"] == f"<{link}>"
    assert received["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


async def test_starttls_always_refuses_a_server_without_it(inbox: tuple[Inbox, int]) -> None:
    handler, port = inbox
    mailer = SmtpMailer(_url(port), "noreply@corp.example", timeout=5, starttls="always")
    with pytest.raises(SmtpTransientError) as error:
        await mailer.send(MESSAGE, message_id="<x@corp.example>")
    assert str(error.value) == "SMTP server does not offer STARTTLS"
    assert handler.envelopes == []
