"""SmtpMailer: the Mailer port over aiosmtplib, one connection per message."""

from __future__ import annotations

import logging
import ssl
from typing import TYPE_CHECKING, Literal

import aiosmtplib

from market_ai.adapters.smtp.errors import SmtpTransientError, classified
from market_ai.adapters.smtp.mime import build_mime, envelope_sender, sender_domain
from market_ai.adapters.smtp.url import SmtpEndpoint, parse_smtp_url

if TYPE_CHECKING:
    from market_ai.domain.mail import EmailMessage

log = logging.getLogger(__name__)
StartTls = Literal["auto", "always", "never"]

__all__ = ["SmtpMailer", "SmtpTransientError"]


class SmtpMailer:
    """Sends through SMTP_URL as MAIL_FROM.

    A connection per message keeps the adapter stateless (no pooled connection to go stale
    between jobs). Errors are sorted for the job system with fixed texts (see
    `adapters.smtp.errors`): a refused recipient is RecipientRefused, another 5xx is
    PermanentJobError (retrying would be refused again), everything else is retried.
    """

    def __init__(
        self,
        url: str,
        mail_from: str,
        *,
        timeout: float = 30.0,
        starttls: StartTls = "auto",
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        self._endpoint: SmtpEndpoint = parse_smtp_url(url)
        self._from = mail_from
        self._timeout = timeout
        self._starttls = starttls
        self._tls_context = tls_context

    @property
    def sender_domain(self) -> str:
        """MAIL_FROM's domain."""
        return sender_domain(self._from)

    def _client(self) -> aiosmtplib.SMTP:
        endpoint = self._endpoint
        start_tls = {"auto": None, "always": True, "never": False}[self._starttls]
        return aiosmtplib.SMTP(
            hostname=endpoint.host,
            port=endpoint.port,
            username=endpoint.username,
            password=endpoint.password,
            use_tls=endpoint.implicit_tls,
            start_tls=False if endpoint.implicit_tls else start_tls,
            timeout=self._timeout,
            tls_context=self._tls_context,
        )

    async def send(self, message: EmailMessage, *, message_id: str) -> None:
        """Connect, authenticate if credentials were given, send, quit."""
        mime = build_mime(message, mail_from=self._from, message_id=message_id)
        client = self._client()
        try:
            async with client:
                refused, _ = await client.send_message(
                    mime, sender=envelope_sender(self._from), recipients=list(message.to)
                )
        except (aiosmtplib.SMTPException, OSError) as error:
            endpoint = self._endpoint
            raise classified(error, host=endpoint.host, port=endpoint.port) from None
        if refused:  # some of several accepted: a retry would send those again
            log.warning("mail.recipients_refused %s count=%d", message_id, len(refused))
