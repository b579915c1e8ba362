"""Rate-limit settings: how much each client may ask, and whom to believe about who it is."""

from __future__ import annotations

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings

from market_ai.domain.rate_limit import Rate


class RateLimitSettings(BaseSettings):
    """RATE_LIMIT_*, TRUSTED_PROXY_HOPS; `Settings` inherits them, env names stay flat.

    Fail-open is the default: when Redis cannot answer, the dashboard keeps working rather
    than refusing everyone, while the database pool, request body limits and per-user AI
    budgets still bound what an abuser can spend. Set RATE_LIMIT_FAIL_OPEN=false where
    strictness matters more than availability.
    """

    rate_limit_enabled: bool = True
    rate_limit_default: str = "100/minute"
    rate_limit_campaign_create: str = "10/minute"
    rate_limit_fail_open: bool = True
    # Proxies in front of the app that append to X-Forwarded-For (Render: 1). 0 trusts none.
    trusted_proxy_hops: int = Field(default=0, ge=0, le=10)

    @field_validator("rate_limit_default", "rate_limit_campaign_create")
    @classmethod
    def _a_rate(cls, value: str) -> str:
        """Refuse a rate at start-up, not on the first request that needs it."""
        Rate.parse(value)
        return value.strip()
