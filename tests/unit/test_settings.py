"""Settings: defaults, the env var names operators already use, and one-line start-up errors."""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import AliasChoices

from market_ai.settings import AppEnv, Settings, SettingsError, load_settings
from tests.tokens import public_pem, rsa_key


def _env_names() -> set[str]:
    names = set()
    for name, info in Settings.model_fields.items():
        names.add(name.upper())
        alias = info.validation_alias
        if isinstance(alias, AliasChoices):
            names.update(str(choice).upper() for choice in alias.choices)
    return names


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No variable of the developer's shell or CI leaks into these tests (any case)."""
    names = _env_names()
    for key in list(os.environ):
        if key.upper() in names:
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)  # and no .env file is picked up by accident


def _error(monkeypatch: pytest.MonkeyPatch, **env: str) -> str:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(SettingsError) as caught:
        load_settings(_env_file=None)
    message = str(caught.value)
    assert "\n" not in message, "a start-up error is one line"
    return message


def test_clean_env_fixture_sees_every_variable_it_must_clear() -> None:
    assert {"APP_ENV", "NODE_ENV", "DATABASE_URL", "MARKET_AI_DATA_DIR", "PORT"} <= _env_names()


def test_defaults() -> None:
    s = Settings(_env_file=None)
    assert s.app_env is AppEnv.DEVELOPMENT
    assert (
        s.db_pool_min_size,
        s.db_pool_max_size,
        s.db_pool_idle_lifetime,
        s.db_pool_timeout,
        s.db_statement_timeout,
    ) == (5, 20, 300, 30, 60)
    assert s.default_model == "gpt-4o-mini"
    assert s.max_budget_per_request == Decimal("10.0")
    assert isinstance(s.max_budget_per_request, Decimal)
    assert (s.database_url, s.redis_url, s.allowed_origins) == (None, None, [])
    assert not s.identity_provider_configured
    assert not s.is_production


def test_no_database_url_means_embedded_sqlite_in_the_data_dir(tmp_path: Path) -> None:
    s = Settings(_env_file=None, data_dir=tmp_path / "data")
    expected = (tmp_path / "data" / "market-ai.db").resolve()
    assert s.effective_database_url == f"sqlite+aiosqlite:///{expected}"


def test_data_dir_is_read_from_market_ai_data_dir(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("MARKET_AI_DATA_DIR", str(tmp_path / "elsewhere"))
    assert load_settings(_env_file=None).data_dir == tmp_path / "elsewhere"


def test_values_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DB_POOL_MAX_SIZE", "40")
    monkeypatch.setenv("MAX_BUDGET_PER_REQUEST", "2.50")
    monkeypatch.setenv("log_level", "debug")
    s = load_settings(_env_file=None)
    assert (s.db_pool_max_size, s.max_budget_per_request, s.log_level) == (
        40,
        Decimal("2.50"),
        "DEBUG",
    )


# APP_ENV and its alias


def test_node_env_is_accepted_as_app_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NODE_ENV", "Staging ")
    assert load_settings(_env_file=None).app_env is AppEnv.STAGING


def test_app_env_wins_over_node_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NODE_ENV", "production")
    monkeypatch.setenv("APP_ENV", "test")
    assert load_settings(_env_file=None).app_env is AppEnv.TEST


def test_an_unknown_environment_is_refused_naming_app_env(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _error(monkeypatch, NODE_ENV="prod").startswith("invalid setting APP_ENV:")


# DATABASE_URL


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("postgres://u:p@db:5432/app", "postgresql+psycopg://u:p@db:5432/app"),
        ("postgresql://u@db/app?sslmode=require", "postgresql+psycopg://u@db/app?sslmode=require"),
        ("postgresql+psycopg://u@db/app", "postgresql+psycopg://u@db/app"),
        ("POSTGRES://u@db/app", "postgresql+psycopg://u@db/app"),
        ("sqlite:////var/data/app.db", "sqlite+aiosqlite:////var/data/app.db"),
        ("memory://", "memory://"),
    ],
)
def test_database_urls_are_mapped_onto_the_async_drivers(
    monkeypatch: pytest.MonkeyPatch, given: str, kept: str
) -> None:
    monkeypatch.setenv("DATABASE_URL", given)
    s = load_settings(_env_file=None)
    assert s.database_url == kept
    assert s.effective_database_url == kept


def test_a_blank_database_url_means_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "  ")
    assert load_settings(_env_file=None).database_url is None


@pytest.mark.parametrize(
    "given", ["mysql://u@db/app", "postgresql+asyncpg://u@db/app", "db.example"]
)
def test_unsupported_database_urls_are_refused(monkeypatch: pytest.MonkeyPatch, given: str) -> None:
    assert _error(monkeypatch, DATABASE_URL=given).startswith("invalid setting DATABASE_URL:")


# one clear line naming the variable


@pytest.mark.parametrize(
    ("env", "name"),
    [
        ({"DB_POOL_MAX_SIZE": "many"}, "DB_POOL_MAX_SIZE"),
        ({"DB_POOL_TIMEOUT": "0"}, "DB_POOL_TIMEOUT"),
        ({"PORT": "70000"}, "PORT"),
        ({"PORT": "http"}, "PORT"),
        ({"LOG_LEVEL": "loud"}, "LOG_LEVEL"),
        ({"REDIS_URL": "http://cache:6379"}, "REDIS_URL"),
        ({"MAX_BUDGET_PER_REQUEST": "-1"}, "MAX_BUDGET_PER_REQUEST"),
        ({"MAX_BUDGET_PER_REQUEST": "NaN"}, "MAX_BUDGET_PER_REQUEST"),
        ({"AUTH_LEEWAY_SECONDS": "3600"}, "AUTH_LEEWAY_SECONDS"),
    ],
)
def test_bad_values_fail_with_one_line_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], name: str
) -> None:
    assert _error(monkeypatch, **env).startswith(f"invalid setting {name}:")


def test_several_bad_values_are_all_named_on_the_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    message = _error(monkeypatch, PORT="0", LOG_LEVEL="loud")
    assert "PORT" in message
    assert "LOG_LEVEL" in message


def test_pool_min_above_max_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    message = _error(monkeypatch, DB_POOL_MIN_SIZE="30", DB_POOL_MAX_SIZE="10")
    assert "DB_POOL_MIN_SIZE" in message
    assert "DB_POOL_MAX_SIZE" in message


def test_pool_min_equal_to_max_is_fine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DB_POOL_MIN_SIZE", "10")
    monkeypatch.setenv("DB_POOL_MAX_SIZE", "10")
    assert load_settings(_env_file=None).db_pool_max_size == 10


# production and identity


@pytest.mark.parametrize("env_var", ["APP_ENV", "NODE_ENV"])
def test_production_without_an_identity_provider_is_refused(
    monkeypatch: pytest.MonkeyPatch, env_var: str
) -> None:
    message = _error(monkeypatch, **{env_var: "production"})
    for name in ("CLERK_DOMAIN", "CLERK_JWT_KEY", "CLERK_JWKS_URL"):
        assert name in message


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("CLERK_DOMAIN", "clerk.example.com"),
        ("CLERK_JWT_KEY", "a PEM public key"),
        ("CLERK_JWKS_URL", "https://clerk.example.com/.well-known/jwks.json"),
    ],
)
def test_production_starts_with_any_identity_provider(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv(name, public_pem(rsa_key("settings")) if name == "CLERK_JWT_KEY" else value)
    monkeypatch.setenv("CLERK_ISSUER", "https://clerk.example.com")  # a key alone names no issuer
    s = load_settings(_env_file=None)
    assert s.is_production
    assert s.identity_provider_configured


def test_a_blank_identity_provider_does_not_count(monkeypatch: pytest.MonkeyPatch) -> None:
    assert "CLERK_DOMAIN" in _error(monkeypatch, APP_ENV="production", CLERK_DOMAIN=" ")


# ALLOWED_ORIGINS


def test_allowed_origins_is_a_comma_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "ALLOWED_ORIGINS", " https://app.example.com, http://localhost:3000/ ,,https://b.example"
    )
    assert load_settings(_env_file=None).allowed_origins == [
        "https://app.example.com",
        "http://localhost:3000",
        "https://b.example",
    ]


@pytest.mark.parametrize("given", ["*", "https://app.example.com,*"])
def test_a_wildcard_origin_is_refused(monkeypatch: pytest.MonkeyPatch, given: str) -> None:
    assert "ALLOWED_ORIGINS" in _error(monkeypatch, ALLOWED_ORIGINS=given)


@pytest.mark.parametrize("given", ["app.example.com", "https://ok.example,ftp://files.example"])
def test_an_origin_that_is_not_a_url_is_refused(
    monkeypatch: pytest.MonkeyPatch, given: str
) -> None:
    assert _error(monkeypatch, ALLOWED_ORIGINS=given).startswith("invalid setting ALLOWED_ORIGINS:")
