"""Email: the message rules (addresses, header safety, bounds) and the Mailer port."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Protocol
from uuid import UUID

from market_ai.domain.errors import InvalidInput

RECIPIENTS_MAX: Final = 50
SUBJECT_MAX: Final = 200
BODY_MAX: Final = 100_000  # characters of plain text: a long newsletter, not an attachment
ADDRESS_MAX: Final = 254  # RFC 5321's path limit minus the angle brackets
LOCAL_MAX: Final = 64

# RFC 5322 dot-atom local part and an RFC 1035 host name with a dot: what real mailboxes use.
# Quoted local parts, comments, IP literals and display names are refused on purpose: they
# are rare in marketing lists and common in header-injection and parser-confusion tricks.
_ATEXT: Final = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LOCAL: Final = re.compile(rf"{_ATEXT}(?:\.{_ATEXT})*")
_LABEL: Final = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\x85]")


def check_address(field: str, address: object) -> str:
    """One mailbox `local@domain.tld`; the domain is lower-cased (it is case-insensitive)."""
    if not isinstance(address, str):
        raise InvalidInput(field, "must be an email address")
    value = address.strip()
    local, at, domain = value.rpartition("@")
    labels = domain.split(".")
    if (
        not at
        or len(value) > ADDRESS_MAX
        or not local
        or len(local) > LOCAL_MAX
        or not _LOCAL.fullmatch(local)
        or len(labels) < 2  # noqa: PLR2004 - a host and a top-level domain at least
        or not all(_LABEL.fullmatch(label) for label in labels)
        or labels[-1].isdigit()
    ):
        raise InvalidInput(field, f"{value[:80]!r} is not a valid email address")
    return f"{local}@{domain.lower()}"


def check_recipients(addresses: Sequence[object]) -> tuple[str, ...]:
    """1 to 50 addresses, each named `to[i]` when wrong; repeats are dropped, order kept."""
    if isinstance(addresses, str) or not 1 <= len(addresses) <= RECIPIENTS_MAX:
        raise InvalidInput("to", f"must list between 1 and {RECIPIENTS_MAX} addresses")
    checked = [check_address(f"to[{i}]", a) for i, a in enumerate(addresses)]
    return tuple(dict.fromkeys(checked))


def check_subject(subject: object) -> str:
    """1 to 200 characters on one line: a CR or LF would let a subject forge headers."""
    if not isinstance(subject, str):
        raise InvalidInput("subject", "must be text")
    if _CONTROL.search(subject):
        raise InvalidInput("subject", "must not contain line breaks or control characters")
    value = subject.strip()
    if not 1 <= len(value) <= SUBJECT_MAX:
        raise InvalidInput("subject", f"must have between 1 and {SUBJECT_MAX} characters")
    return value


def check_body(body: str) -> str:
    """Plain text, bounded, not blank; line breaks are the body's own business."""
    if not body.strip():
        raise InvalidInput("body", "must not be blank")
    if len(body) > BODY_MAX:
        raise InvalidInput("body", f"must be at most {BODY_MAX} characters")
    return body


@dataclass(frozen=True, slots=True)
class EmailMessage:
    """A plain-text email to send. The sender is the deployment's MAIL_FROM, not the user's.

    With `unsubscribe_url` the message carries List-Unsubscribe and RFC 8058's one-click
    List-Unsubscribe-Post headers, and the link at the foot of the body.
    """

    to: tuple[str, ...]
    subject: str
    body: str
    request_id: str | None = None  # sent as X-Request-ID: the request that asked for it
    unsubscribe_url: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "to", check_recipients(self.to))
        object.__setattr__(self, "subject", check_subject(self.subject))
        object.__setattr__(self, "body", check_body(self.body))


def message_id(job_id: UUID, domain: str) -> str:
    """The Message-ID of a job's email: the same for every attempt of the job.

    A resend after a crash then carries the same Message-ID, which receiving systems and
    people can use to spot (and many MTAs to drop) the duplicate.
    """
    return f"<job-{job_id}@{domain}>"


def recipient_message_id(job_id: UUID, address: str, domain: str) -> str:
    """The Message-ID of a job's message to one address, the same on every attempt.

    The address enters as a short hash: stable per (job, recipient), and the header does
    not spell one recipient's address into another's copy of the job.
    """
    tag = hashlib.sha256(address.encode()).hexdigest()[:12]
    return f"<{job_id.hex}.{tag}@{domain}>"  # short: one header line for most domains


class RecipientRefused(Exception):  # noqa: N818 - reads as the condition
    """The server refused this recipient (the message went to nobody); other sends go on.

    `code` >= 500 is final; a 4xx is retried for this address alone. `str()` is a fixed
    text safe for the job row (no host names, no server banter).
    """

    def __init__(self, code: int) -> None:
        super().__init__(f"SMTP server refused the recipient ({code})")
        self.code = code

    @property
    def permanent(self) -> bool:
        """5xx: the address will not take mail; 4xx: try it again later."""
        return self.code >= 500  # noqa: PLR2004 - SMTP's reply classes


@dataclass(frozen=True, slots=True)
class EmailDelivery:
    """The record that a job's email was handed to the mail server; its job id is its key."""

    job_id: UUID
    campaign_id: UUID
    owner_id: str
    message_id: str
    recipients: tuple[str, ...]
    subject: str
    sent_at: datetime


class Mailer(Protocol):
    """Hands a message to a mail transport.

    Raises RecipientRefused when the server refused the (only) recipient,
    PermanentJobError when it refused the send for good (a 5xx: login, sender, message);
    any other error means "maybe later" and the job is retried. Error texts are fixed
    phrases: they end up in the job row, which the user reads.
    """

    @property
    def sender_domain(self) -> str:
        """The domain Message-IDs are made in (MAIL_FROM's)."""
        ...

    async def send(self, message: EmailMessage, *, message_id: str) -> None:
        """Send `message` with this Message-ID header."""
        ...


class EmailDeliveryLog(Protocol):
    """Email deliveries inside one unit of work."""

    async def get(self, job_id: UUID) -> EmailDelivery | None:
        """The delivery recorded for the job, or None."""
        ...

    async def record(self, delivery: EmailDelivery) -> EmailDelivery:
        """Insert; if the job has one already, return that one unchanged."""
        ...
