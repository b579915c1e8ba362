"""Mail settings and SMTP_URL parsing: bad values fail at start naming the variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from market_ai.adapters.memory.outbox_mailer import OutboxMailer
from market_ai.adapters.smtp.mailer import SmtpMailer
from market_ai.adapters.smtp.url import parse_smtp_url
from market_ai.container import build_container
from market_ai.container.mail import public_base_url, unsubscribe_key
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
        ("email_recipients_per_day", "-1"),
        ("email_recipients_per_day", "lots"),
        ("public_base_url", "ftp://example.com"),
        ("public_base_url", "https://example.com/?x=1"),
        ("unsubscribe_secret", "short"),
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


PRODUCTION = {"app_env": "production", "clerk_domain": "clerk.example.com"}
SMTP = "smtp://relay.example.com"


def test_production_mail_needs_a_base_url_and_a_link_secret_named_at_start() -> None:
    with pytest.raises(SettingsError, match="PUBLIC_BASE_URL"):
        load_settings(_env_file=None, smtp_url=SMTP, **PRODUCTION)
    with pytest.raises(SettingsError, match="UNSUBSCRIBE_SECRET"):
        load_settings(
            _env_file=None, smtp_url=SMTP, public_base_url="https://api.example.com", **PRODUCTION
        )
    for secret in ({"unsubscribe_secret": "s" * 32}, {"clerk_secret_key": "sk_live_x"}):
        load_settings(
            _env_file=None,
            smtp_url=SMTP,
            public_base_url="https://api.example.com",
            **secret,
            **PRODUCTION,
        )
    load_settings(_env_file=None, **PRODUCTION)  # no SMTP_URL: no mail leaves, no links needed


def test_link_keys_come_from_the_setting_clerk_or_a_kept_file(tmp_path: Path) -> None:
    explicit = make_settings(tmp_path, unsubscribe_secret="s" * 32, clerk_secret_key="sk_x")
    derived = make_settings(tmp_path, clerk_secret_key="sk_x")
    assert unsubscribe_key(explicit) == b"s" * 32
    assert unsubscribe_key(derived) not in {b"sk_x", unsubscribe_key(explicit)}
    assert unsubscribe_key(derived) == unsubscribe_key(
        make_settings(tmp_path / "b", clerk_secret_key="sk_x")
    )
    embedded = make_settings(tmp_path / "embedded")
    first = unsubscribe_key(embedded)
    assert len(first) >= 32
    assert unsubscribe_key(embedded) == first  # kept, so links outlive a restart
    assert (tmp_path / "embedded" / "unsubscribe.key").stat().st_mode & 0o077 == 0
    assert unsubscribe_key(make_settings(tmp_path / "other")) != first


def test_links_point_at_the_public_base_url_or_the_local_server(tmp_path: Path) -> None:
    assert public_base_url(make_settings(tmp_path, public_base_url="https://x.example/")) == (
        "https://x.example"
    )
    assert public_base_url(make_settings(tmp_path, port=8123)) == "http://127.0.0.1:8123"
    assert load_settings(_env_file=None).email_recipients_per_day == 500
