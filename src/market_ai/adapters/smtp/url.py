"""SMTP_URL parsing: smtp:// (STARTTLS) or smtps:// (implicit TLS), credentials URL-decoded."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final
from urllib.parse import unquote, urlsplit

DEFAULT_PORTS: Final = {"smtp": 587, "smtps": 465}


@dataclass(frozen=True, slots=True)
class SmtpEndpoint:
    """Where and how to connect; the password never shows in a repr."""

    host: str
    port: int
    implicit_tls: bool
    username: str | None = None
    password: str | None = field(default=None, repr=False)


def parse_smtp_url(url: str) -> SmtpEndpoint:
    """`smtp://user:pass@host:587` or `smtps://host:465`; errors never echo the URL.

    User and password are percent-decoded, so a password holding `@` or `/` is written
    `%40` or `%2F`, as in any URL.
    """
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise ValueError("expected smtp://user:pass@host:port or smtps://...") from None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise ValueError("expected an smtp:// or smtps:// URL")
    if not parts.hostname:
        raise ValueError("the URL needs a host, as in smtp://user:pass@host:587")
    if parts.path not in {"", "/"} or parts.query or parts.fragment:
        raise ValueError("the URL takes no path, query or fragment")
    return SmtpEndpoint(
        host=parts.hostname,
        port=port or DEFAULT_PORTS[scheme],
        implicit_tls=scheme == "smtps",
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None,
    )
