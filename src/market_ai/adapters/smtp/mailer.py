"""SmtpMailer: the Mailer port over aiosmtplib, one connection per message."""

from __future__ import annotations

import logging
import ssl
from typing import TYPE_CHECKING, Final, Literal

import aiosmtplib

from market_ai.adapters.smtp.mime import build_mime, envelope_sender, sender_domain
from market_ai.adapters.smtp.url import SmtpEndpoint, parse_smtp_url
from market_ai.domain.jobs import PermanentJobError

if TYPE_CHECKING:
    from market_ai.domain.mail import EmailMessage

log = logging.getLogger(__name__)
StartTls = Literal["auto", "always", "never"]
_PERMANENT: Final = 500  # SMTP reply classes: 4xx try again later, 5xx never


class SmtpTransientError(Exception):
    """The server or the network said "not now" (4xx, refused connection, timeout): retry."""


class SmtpMailer:
    """Sends through SMTP_URL as MAIL_FROM.

    A connection per message keeps the adapter stateless (no pooled connection to go stale
    between jobs); sends are rare next to the cost of a handshake. Errors are sorted for the
    job system: a 5xx reply is PermanentJobError (the job goes dead, retrying would be
    refused again), everything else is retried with backoff.
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
        except aiosmtplib.SMTPRecipientsRefused as error:
            codes = [r.code for r in error.recipients]
            if all(code >= _PERMANENT for code in codes):
                raise PermanentJobError(f"every recipient was refused ({codes})") from error
            raise SmtpTransientError(f"recipients refused for now ({codes})") from error
        except aiosmtplib.SMTPResponseException as error:
            if error.code >= _PERMANENT:
                raise PermanentJobError(f"SMTP {error.code}: {error.message}") from error
            raise SmtpTransientError(f"SMTP {error.code}: {error.message}") from error
        except (aiosmtplib.SMTPException, OSError) as error:
            raise SmtpTransientError(f"{type(error).__name__}: {error}") from error
        if refused:  # some accepted: a retry would send those again, so it counts as sent
            log.warning("mail.recipients_refused %s count=%d", message_id, len(refused))
