"""Mail settings: where email goes (SMTP_URL, or the local outbox) and whom it comes from."""

from __future__ import annotations

from email.headerregistry import Address
from email.utils import parseaddr
from typing import Final, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings

from market_ai.adapters.smtp.url import parse_smtp_url

UNSUBSCRIBE_SECRET_MIN: Final = 32  # characters: an HMAC key worth the name


class MailSettings(BaseSettings):
    """SMTP_URL, MAIL_FROM, SMTP_*, EMAIL_RECIPIENTS_PER_DAY, PUBLIC_BASE_URL, UNSUBSCRIBE_SECRET.

    Without SMTP_URL, email is written as .eml files to `<data dir>/outbox/` (the embedded
    default): nothing leaves the machine until an operator configures a server.
    """

    # smtp://user:pass@host:587 (STARTTLS per SMTP_STARTTLS) or smtps://user:pass@host:465
    smtp_url: SecretStr | None = None
    mail_from: str = "market-ai <noreply@localhost>"
    smtp_timeout_seconds: float = Field(default=30.0, gt=0, le=600)
    # auto: upgrade when the server offers STARTTLS; always: refuse a server that does not;
    # never: plain text (a relay on loopback or a private network only).
    smtp_starttls: Literal["auto", "always", "never"] = "auto"
    # Recipients one user may queue per UTC day, across every instance (0: no email).
    email_recipients_per_day: int = Field(default=500, ge=0, le=1_000_000)
    # Where unsubscribe links point: this API as the recipients' browsers reach it.
    public_base_url: str | None = None
    # Signs unsubscribe links; without it they are signed with a key derived from
    # CLERK_SECRET_KEY, or (outside production) one kept in the data directory.
    unsubscribe_secret: SecretStr | None = None

    @field_validator("public_base_url", "unsubscribe_secret", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("public_base_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value.strip())
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError("expected an http(s) URL such as https://api.example.com")
        if parts.query or parts.fragment:
            raise ValueError("must not carry a query or fragment")
        return value.strip().rstrip("/")

    @field_validator("unsubscribe_secret")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < UNSUBSCRIBE_SECRET_MIN:
            raise ValueError(f"must have at least {UNSUBSCRIBE_SECRET_MIN} characters")
        return value

    @field_validator("smtp_url", mode="before")
    @classmethod
    def _blank_smtp_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("smtp_url")
    @classmethod
    def _smtp_scheme(cls, value: SecretStr | None) -> SecretStr | None:
        """Checked at start-up; the message never echoes the URL, which may hold a password."""
        if value is None:
            return None
        parse_smtp_url(value.get_secret_value())
        return value

    @field_validator("smtp_starttls", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("mail_from")
    @classmethod
    def _one_mailbox(cls, value: str) -> str:
        """One mailbox, optionally with a display name: `Name <user@example.com>`."""
        if "\r" in value or "\n" in value:
            raise ValueError("must be one line")
        name, address = parseaddr(value.strip())
        if "@" not in address:
            raise ValueError("expected an address such as 'market-ai <noreply@example.com>'")
        local, _, domain = address.rpartition("@")
        Address(display_name=name, username=local, domain=domain)  # raises on bad parts
        return value.strip()
