"""Mail: the mailer SMTP_URL chooses, a mail server or the local outbox."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from dependency_injector import containers, providers

from market_ai.container.lazy import lazy

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


class Mail(containers.DeclarativeContainer):
    """Singletons: neither mailer holds a connection between messages, so one serves the process."""

    settings: providers.Dependency[Settings] = providers.Dependency()

    mailer = providers.Selector(
        providers.Callable(mail_kind, settings),
        smtp=providers.Singleton(smtp_mailer, settings),
        outbox=providers.Singleton(
            lazy("market_ai.adapters.memory.outbox_mailer:OutboxMailer"),
            providers.Callable(outbox_path, settings.provided.data_dir),
            settings.provided.mail_from,
        ),
    )
