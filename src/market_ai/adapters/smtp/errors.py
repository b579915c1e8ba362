"""SMTP failures sorted into fixed phrases: what the job row may show, and what is retried.

The job's `last_error` is read by the user who asked for the send; the server's own text
can name internal hosts, relays and accounts, so it goes to the log (never a password:
aiosmtplib's errors do not carry one) and the row gets one of the phrases below.
"""

from __future__ import annotations

import logging
import ssl
from typing import Final

import aiosmtplib

from market_ai.domain.jobs import PermanentJobError
from market_ai.domain.mail import RecipientRefused

log = logging.getLogger(__name__)
_PERMANENT: Final = 500  # SMTP reply classes: 4xx try again later, 5xx never


class SmtpTransientError(Exception):
    """The server or the network said "not now" (4xx, refused connection, timeout): retry."""


# Checked in order, subclasses first: what the server refused, then how the link failed.
_REFUSED: Final = (
    (aiosmtplib.SMTPAuthenticationError, "the login"),
    (aiosmtplib.SMTPSenderRefused, "the sender"),
    (aiosmtplib.SMTPDataError, "the message"),
    (aiosmtplib.SMTPResponseException, "the request"),
)
_LINK: Final[tuple[tuple[type[BaseException] | tuple[type[BaseException], ...], str], ...]] = (
    (aiosmtplib.SMTPTimeoutError, "SMTP server timed out"),
    (aiosmtplib.SMTPServerDisconnected, "SMTP server closed the connection"),
    (ssl.SSLError, "SMTP TLS handshake failed"),
    ((aiosmtplib.SMTPConnectError, OSError), "SMTP server unreachable"),
)


def _phrase(error: BaseException) -> Exception:
    """The error to raise instead of `error`."""
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused) and error.recipients:
        return RecipientRefused(error.recipients[0].code)
    if isinstance(error, aiosmtplib.SMTPRecipientRefused):
        return RecipientRefused(error.code)
    if isinstance(error, aiosmtplib.SMTPResponseException):
        what = next(what for kind, what in _REFUSED if isinstance(error, kind))
        text = f"SMTP server refused {what} ({error.code})"
        return PermanentJobError(text) if error.code >= _PERMANENT else SmtpTransientError(text)
    for kinds, text in _LINK:
        if isinstance(error, kinds):
            return SmtpTransientError(text)
    if "STARTTLS" in str(error):
        return SmtpTransientError("SMTP server does not offer STARTTLS")
    return SmtpTransientError("SMTP error")


def classified(error: BaseException, *, host: str, port: int) -> Exception:
    """Log what happened in full, return the fixed-phrase error to raise."""
    replacement = _phrase(error)
    code = getattr(error, "code", None)
    log.warning(
        "mail.smtp_failed %s host=%s:%d code=%s reason=%s: %s",
        replacement,
        host,
        port,
        code,
        type(error).__name__,
        error,
    )
    return replacement
