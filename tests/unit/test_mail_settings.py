"""Mail settings and SMTP_URL parsing: bad values fail at start naming the variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from market_ai.adapters.memory.outbox_mailer import OutboxMailer
from market_ai.adapters.smtp.mailer import SmtpMailer
from market_ai.adapters.smtp.url import parse_smtp_url
from market_ai.container import build_container
from market_ai.settings import SettingsError, load_settings
from tests.conftest import make_settings


def test_smtp_urls_parse_with_decoded_credentials_and_default_ports() -> None:
    plain = parse_smtp_url("smtp://mailer%40corp:p%2Fss%3Aw@mail.example.com")
    assert (plain.host, plain.port, plain.implicit_tls) == ("mail.example.com", 587, False)
    assert (plain.username, plain.password) == ("mailer@corp", "p/ss:w")
    assert "p/ss" not in repr(plain)
    tls = parse_smtp_url("SMTPS://relay.example.com")
    assert (tls.port, tls.implicit_tls, tls.username, tls.password) == (465, True, None, None)
    assert parse_smtp_url("smtp://127.0.0.1:2525").port == 2525


@pytest.mark.parametrize(
    "url",
    [
        "http://u:hunter2@mail.example.com",
        "smtp://",
        "smtp://u:hunter2@host:notaport",
        "smtp://u:hunter2@host/path",
        "host:25",
    ],
)
def test_bad_smtp_urls_fail_at_start_naming_the_variable(url: str) -> None:
    with pytest.raises(SettingsError) as error:
        load_settings(_env_file=None, smtp_url=url)
    message = str(error.value)
    assert message.startswith("invalid setting SMTP_URL")
    assert "hunter2" not in message  # a URL may hold a password: never echoed


def test_secret_smtp_urls_never_show() -> None:
    settings = load_settings(_env_file=None, smtp_url="smtp://u:hunter2@mail.example.com:587")
    assert "hunter2" not in repr(settings)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("mail_from", "not an address"),
        ("mail_from", "a@example.com\r\nBcc: x@example.com"),
        ("smtp_starttls", "sometimes"),
        ("smtp_timeout_seconds", "0"),
    ],
)
def test_bad_mail_settings_name_the_variable(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=f"invalid setting {name.upper()}"):
        load_settings(_env_file=None, **{name: value})


def test_the_container_picks_the_outbox_without_smtp_url_and_smtp_with_it(
    tmp_path: Path,
) -> None:
    outbox = build_container(make_settings(tmp_path)).mailer()
    assert isinstance(outbox, OutboxMailer)
    assert outbox.outbox == tmp_path / "outbox"
    configured = make_settings(
        tmp_path, smtp_url="smtp://127.0.0.1:2525", mail_from="Ads <ads@corp.example>"
    )
    smtp = build_container(configured).mailer()
    assert isinstance(smtp, SmtpMailer)
    assert smtp.sender_domain == "corp.example"


def test_the_container_runs_the_real_analysis_and_email_handlers(tmp_path: Path) -> None:
    registry = build_container(make_settings(tmp_path)).job_registry()
    for job_type in ("analyze_campaign", "send_email"):
        assert registry.handler(job_type).__qualname__ == "run_by.<locals>.handle"
