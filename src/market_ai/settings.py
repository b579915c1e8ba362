"""Settings read from the environment: the only knobs operators turn."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal, Self
from urllib.parse import urlsplit, urlunsplit

from pydantic import (
    AliasChoices,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import NoDecode, SettingsConfigDict

from market_ai.cache_settings import CacheSettings
from market_ai.content_settings import ContentSettings
from market_ai.identity_settings import IdentitySettings
from market_ai.mail_settings import MailSettings
from market_ai.ops_settings import OpsSettings
from market_ai.rate_limit_settings import RateLimitSettings


class AppEnv(StrEnum):
    """Where the service runs; production tightens what may be switched off."""

    DEVELOPMENT = "development"
    TEST = "test"
    STAGING = "staging"
    PRODUCTION = "production"


class SettingsError(ValueError):
    """A setting that cannot be used; the message is one line naming the variable."""


_POSTGRES_SCHEMES = {
    "postgres": "postgresql+psycopg",
    "postgresql": "postgresql+psycopg",
    "postgresql+psycopg": "postgresql+psycopg",
}
_ACCEPTED_SCHEMES = "postgres://, postgresql://, postgresql+psycopg://, sqlite:// or memory://"


def normalise_database_url(url: str) -> str:
    """Map the URL schemes hosting platforms hand out onto the psycopg 3 driver."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ValueError("expected a URL such as postgresql://user@host/db")  # may hold a password
    lowered = scheme.lower()
    if lowered in _POSTGRES_SCHEMES:
        return f"{_POSTGRES_SCHEMES[lowered]}://{rest}"
    if lowered in {"sqlite", "sqlite+aiosqlite"}:
        return f"sqlite+aiosqlite://{rest}"
    if lowered == "memory":
        return "memory://"
    raise ValueError(f"unsupported scheme {scheme!r}; use {_ACCEPTED_SCHEMES}")


def mask_password(url: str) -> str:
    """`scheme://user:***@host/...`: URLs are shown in reprs and logs, their passwords never."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host}"))


class Settings(
    IdentitySettings, RateLimitSettings, MailSettings, ContentSettings, OpsSettings, CacheSettings
):
    """Every setting, with the env var operators of the origin design already set."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
        populate_by_name=True,
        validate_default=True,
    )

    app_env: AppEnv = Field(
        default=AppEnv.DEVELOPMENT,
        validation_alias=AliasChoices("APP_ENV", "NODE_ENV", "app_env"),
    )
    app_version: str = "0.1.0"
    log_level: str = "INFO"
    log_format: Literal["auto", "json", "console"] = "auto"
    log_sql_parameters: bool = False  # SQL bound parameters hold users' text: never by default
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    data_dir: Path = Field(
        default=Path(".market-ai"),
        validation_alias=AliasChoices("MARKET_AI_DATA_DIR", "data_dir"),
    )

    database_url: str | None = None
    db_pool_min_size: int = Field(default=5, ge=0, le=1000)
    db_pool_max_size: int = Field(default=20, ge=1, le=1000)
    db_pool_idle_lifetime: float = Field(default=300.0, gt=0)
    db_pool_timeout: float = Field(default=30.0, gt=0)
    db_statement_timeout: float = Field(default=60.0, gt=0)

    redis_url: str | None = None

    # Jobs: see README "Jobs". Grace must fit inside the platform's stop timeout (Render: 30 s).
    job_lease_seconds: float = Field(default=30.0, ge=0.1, le=3600)
    job_max_attempts: int = Field(default=5, ge=1, le=100)
    job_max_deliveries: int = Field(default=5, ge=1, le=1000)
    job_retry_base_seconds: float = Field(default=2.0, gt=0, le=3600)
    job_retry_max_seconds: float = Field(default=300.0, gt=0, le=86_400)
    job_republish_after_seconds: float = Field(default=60.0, gt=0, le=86_400)
    job_retention_days: float = Field(default=30.0, gt=0, le=36_500)
    job_handler_modules: Annotated[list[str], NoDecode] = Field(default_factory=list)
    worker_concurrency: int = Field(default=10, ge=1, le=1000)
    worker_grace_seconds: float = Field(default=25.0, ge=0, lt=30)
    worker_embedded: bool = True

    openai_api_key: SecretStr | None = None
    openai_vector_store_id: str | None = None
    openai_base_url: str | None = None
    default_model: str = "gpt-4o-mini"
    max_budget_per_request: Decimal = Field(default=Decimal("10.0"), ge=0)

    # Identity provider (CLERK_*, AUTH_LEEWAY_SECONDS): see IdentitySettings.
    # Rate limits (RATE_LIMIT_*, TRUSTED_PROXY_HOPS): see RateLimitSettings.
    # Content (OPENAI_MAX_*, USER_BUDGET_*, MODEL_PRICES, FILE_SEARCH_*): see ContentSettings.
    # Mail (SMTP_*, MAIL_FROM, EMAIL_RECIPIENTS_PER_DAY, PUBLIC_BASE_URL,
    # UNSUBSCRIBE_SECRET): see MailSettings.

    allowed_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    max_body_bytes: int = Field(default=1_048_576, ge=1024, le=100 * 1_048_576)
    http_header_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    sentry_dsn: SecretStr | None = None
    operator_token: SecretStr | None = Field(default=None, min_length=24)

    @field_validator("log_level")
    @classmethod
    def _known_log_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("expected one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return level

    @field_validator("app_env", mode="before")
    @classmethod
    def _lower_env(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator(
        "database_url",
        "redis_url",
        "openai_api_key",
        "openai_vector_store_id",
        "openai_base_url",
        "sentry_dsn",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("database_url")
    @classmethod
    def _psycopg_driver(cls, value: str | None) -> str | None:
        return None if value is None else normalise_database_url(value.strip())

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("expected redis://, rediss:// or unix:// URL")
        return value

    @field_validator("allowed_origins", mode="before")
    @classmethod
    def _comma_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [origin.strip().rstrip("/") for origin in value.split(",") if origin.strip()]
        return value

    @field_validator("job_handler_modules", mode="before")
    @classmethod
    def _module_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [name.strip() for name in value.split(",") if name.strip()]
        return value

    @field_validator("allowed_origins")
    @classmethod
    def _origins_are_urls(cls, value: list[str]) -> list[str]:
        for origin in value:
            if origin != "*" and not origin.startswith(("http://", "https://")):
                raise ValueError(f"origin {origin!r} must start with http:// or https://")
        return value

    @model_validator(mode="after")
    def _coherent(self) -> Self:
        if "*" in self.allowed_origins:
            raise ValueError(
                "ALLOWED_ORIGINS must list origins: '*' cannot be used with credentials"
            )
        if self.db_pool_min_size > self.db_pool_max_size:
            raise ValueError("DB_POOL_MIN_SIZE must not exceed DB_POOL_MAX_SIZE")
        if self.job_retry_base_seconds > self.job_retry_max_seconds:
            raise ValueError("JOB_RETRY_BASE_SECONDS must not exceed JOB_RETRY_MAX_SECONDS")
        if not self.priced_today(self.default_model):
            raise ValueError(
                f"DEFAULT_MODEL {self.default_model!r} has no price in force: add it to "
                "MODEL_PRICES"
            )
        if self.is_production and self.metrics_enabled and self.metrics_token is None:
            raise ValueError("METRICS_ENABLED in production needs a METRICS_TOKEN")
        if self.app_env is AppEnv.PRODUCTION and not self.identity_provider_configured:
            raise ValueError(
                "APP_ENV=production needs an identity provider: set CLERK_DOMAIN, "
                "CLERK_JWT_KEY or CLERK_JWKS_URL"
            )
        if self.app_env is AppEnv.PRODUCTION and self.smtp_url is not None:
            self._mail_links_configured()
        return self

    def _mail_links_configured(self) -> None:
        """Mail that leaves the machine carries unsubscribe links: they need both settings."""
        if self.public_base_url is None:
            raise ValueError(
                "APP_ENV=production with SMTP_URL needs PUBLIC_BASE_URL for unsubscribe links"
            )
        if self.unsubscribe_secret is None and self.clerk_secret_key is None:
            raise ValueError(
                "APP_ENV=production with SMTP_URL needs UNSUBSCRIBE_SECRET (or CLERK_SECRET_KEY "
                "to derive it from) to sign unsubscribe links"
            )

    @property
    def is_production(self) -> bool:
        """Production hides docs and refuses development shortcuts."""
        return self.app_env is AppEnv.PRODUCTION

    @property
    def json_logs(self) -> bool:
        """JSON lines for log collectors outside development, unless told otherwise."""
        if self.log_format == "auto":
            return self.app_env in {AppEnv.PRODUCTION, AppEnv.STAGING}
        return self.log_format == "json"

    @property
    def effective_database_url(self) -> str:
        """The configured database, or the embedded SQLite file in the data directory."""
        if self.database_url is not None:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'market-ai.db').resolve()}"

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        """Keys are SecretStr already; URLs (DATABASE_URL, REDIS_URL) get their password masked."""
        for name, value in super().__repr_args__():
            yield name, mask_password(value) if isinstance(value, str) else value


def _env_name(loc: tuple[str | int, ...]) -> str:
    field = str(loc[0]) if loc else "settings"
    info = Settings.model_fields.get(field)
    alias = info.validation_alias if info is not None else None
    if isinstance(alias, AliasChoices):
        return str(alias.choices[0])
    return field.upper()


def describe_validation_error(error: ValidationError) -> str:
    """Turn pydantic's report into one line per bad variable, naming the env var."""
    lines = []
    for item in error.errors(include_url=False, include_input=False):
        message = str(item["msg"]).removeprefix("Value error, ")
        if item["loc"]:
            lines.append(f"invalid setting {_env_name(item['loc'])}: {message}")
        else:
            lines.append(f"invalid settings: {message}")
    return "; ".join(lines)


def load_settings(**overrides: Any) -> Settings:
    """Read settings from the environment, raising SettingsError with a one-line message."""
    try:
        return Settings(**overrides)
    except ValidationError as error:
        raise SettingsError(describe_validation_error(error)) from None
