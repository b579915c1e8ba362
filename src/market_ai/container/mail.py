"""Mail: the mailer SMTP_URL chooses, a mail server or the local outbox."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from typing import TYPE_CHECKING, Literal

from dependency_injector import containers, providers

from market_ai.container.lazy import lazy
from market_ai.domain.unsubscribe import UnsubscribeLinks

if TYPE_CHECKING:
    from pathlib import Path

    from market_ai.adapters.smtp.mailer import SmtpMailer
    from market_ai.settings import Settings

MailKind = Literal["smtp", "outbox"]


def mail_kind(settings: Settings) -> MailKind:
    """SMTP_URL sends through a mail server; without it mail goes to the local outbox."""
    return "smtp" if settings.smtp_url is not None else "outbox"


def smtp_mailer(settings: Settings) -> SmtpMailer:
    """The SMTP mailer SMTP_URL, MAIL_FROM and the SMTP_* settings describe."""
    from market_ai.adapters.smtp.mailer import SmtpMailer  # noqa: PLC0415 - only with SMTP_URL

    url = settings.smtp_url.get_secret_value() if settings.smtp_url is not None else ""
    return SmtpMailer(
        url,
        settings.mail_from,
        timeout=settings.smtp_timeout_seconds,
        starttls=settings.smtp_starttls,
    )


def outbox_path(data_dir: Path) -> Path:
    """Where the embedded default writes mail: `<data dir>/outbox/`."""
    return data_dir / "outbox"


def unsubscribe_key(settings: Settings) -> bytes:
    """UNSUBSCRIBE_SECRET; else derived from CLERK_SECRET_KEY; else a key in the data dir.

    Every instance must sign alike, so the first two come from settings shared by all of
    them. The key file is for the embedded service only (one machine): production with
    SMTP_URL refuses to start without one of the two settings.
    """
    if settings.unsubscribe_secret is not None:
        return settings.unsubscribe_secret.get_secret_value().encode()
    if settings.clerk_secret_key is not None:
        secret = settings.clerk_secret_key.get_secret_value().encode()
        return hmac.new(secret, b"market-ai unsubscribe links", hashlib.sha256).digest()
    path = settings.data_dir / "unsubscribe.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process of this machine made it first
            pass
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(48))
    return path.read_text().strip().encode()


def public_base_url(settings: Settings) -> str:
    """PUBLIC_BASE_URL, or this process's own address (the embedded default)."""
    return settings.public_base_url or f"http://{settings.host}:{settings.port}"


def unsubscribe_links(settings: Settings) -> UnsubscribeLinks:
    """The signer of the links every message carries."""
    return UnsubscribeLinks(unsubscribe_key(settings), public_base_url(settings))


class Mail(containers.DeclarativeContainer):
    """Singletons: neither mailer holds a connection between messages, so one serves the process."""

    settings: providers.Dependency[Settings] = providers.Dependency()

    unsubscribe_links = providers.Singleton(unsubscribe_links, settings)

    mailer = providers.Selector(
        providers.Callable(mail_kind, settings),
        smtp=providers.Singleton(smtp_mailer, settings),
        outbox=providers.Singleton(
            lazy("market_ai.adapters.memory.outbox_mailer:OutboxMailer"),
            providers.Callable(outbox_path, settings.provided.data_dir),
            settings.provided.mail_from,
        ),
    )
