"""Operations settings: metrics, the access log, the health monitor's webhook."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings


class OpsSettings(BaseSettings):
    """METRICS_*, ACCESS_LOG_HEALTH, SLOW_REQUEST_SECONDS, MONITOR_WEBHOOK_URL.

    Metrics are off until asked for (METRICS_ENABLED or a METRICS_TOKEN), so an unconfigured
    process never imports prometheus-client; production refuses them without a token
    (checked in `Settings`).
    """

    metrics_enabled: bool = False
    metrics_token: SecretStr | None = None
    # Health probes come every few seconds from load balancers: out of the access log unless
    # asked for. Requests slower than SLOW_REQUEST_SECONDS log at warning with their timing.
    access_log_health: bool = False
    slow_request_seconds: float = Field(default=1.0, gt=0, le=3600)
    monitor_webhook_url: SecretStr | None = None  # a Slack-compatible incoming webhook

    @field_validator("metrics_token", "monitor_webhook_url", mode="before")
    @classmethod
    def _blank_ops_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("metrics_token")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 16:  # noqa: PLR2004
            raise ValueError("must have at least 16 characters")
        return value

    @field_validator("monitor_webhook_url")
    @classmethod
    def _webhook_url(cls, value: SecretStr | None) -> SecretStr | None:
        """Checked at start-up; the message never echoes the URL (it is a credential)."""
        if value is not None and not value.get_secret_value().startswith(("http://", "https://")):
            raise ValueError("expected an http:// or https:// URL")
        return value

    @property
    def metrics_on(self) -> bool:
        """Whether `/metrics` answers and the process records metrics at all."""
        return self.metrics_enabled or self.metrics_token is not None
