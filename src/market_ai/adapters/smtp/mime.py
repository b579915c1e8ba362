"""The MIME form of a domain EmailMessage, shared by the SMTP mailer and the outbox."""

from __future__ import annotations

from email.message import EmailMessage as MimeMessage
from email.utils import formatdate, parseaddr
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from market_ai.domain.mail import EmailMessage


def sender_domain(mail_from: str) -> str:
    """The domain of MAIL_FROM's address: where this deployment's Message-IDs live."""
    return parseaddr(mail_from)[1].rpartition("@")[2].lower() or "localhost"


def envelope_sender(mail_from: str) -> str:
    """The bare address of MAIL_FROM, for SMTP's MAIL FROM command."""
    return parseaddr(mail_from)[1]


def build_mime(message: EmailMessage, *, mail_from: str, message_id: str) -> MimeMessage:
    """Plain text, UTF-8; headers come from checked values, so none can be forged.

    With an unsubscribe link: List-Unsubscribe plus RFC 8058's List-Unsubscribe-Post (the
    one-click POST large mailbox providers require of bulk senders), and the link in the
    body's last line for readers whose client shows no button.
    """
    mime = MimeMessage()
    mime["From"] = mail_from
    mime["To"] = ", ".join(message.to)
    mime["Subject"] = message.subject
    mime["Date"] = formatdate(usegmt=True)
    mime["Message-ID"] = message_id
    if message.request_id and message.request_id.isprintable():
        mime["X-Request-ID"] = message.request_id
    body = message.body
    if message.unsubscribe_url is not None:
        mime["List-Unsubscribe"] = f"<{message.unsubscribe_url}>"
        mime["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        body = f"{body.rstrip()}\n\n--\nUnsubscribe: {message.unsubscribe_url}\n"
    mime.set_content(body, subtype="plain", charset="utf-8")
    return mime
