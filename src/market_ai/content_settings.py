"""Content-generation settings: the bounds of every model call, prices and per-user budgets."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Final, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode

from market_ai.domain.pricing import (
    BUILT_IN_PRICES,
    FILE_SEARCH_CALL_MICROS,
    MICROS_PER_USD,
    PriceTable,
    UnpricedModel,
    parse_model_prices,
)
from market_ai.domain.spend import usd_to_micros

# Shipped per-user cap: USD 5 a UTC day covers thousands of gpt-4o-mini variants, yet bounds
# what one account (or one stolen token) can spend a day, whatever the rate limits allow.
DEFAULT_USER_BUDGET_USD: Final = Decimal("5.00")
UNLIMITED: Final = "unlimited"


class ContentSettings(BaseSettings):
    """OPENAI_MAX_*, OPENAI_TIMEOUT_SECONDS, FILE_SEARCH_*, USER_BUDGET_*, MODEL_PRICES.

    `Settings` inherits them; env names stay flat. Money is Decimal here, micro-USD inside.
    """

    openai_max_output_tokens: int = Field(default=800, ge=16, le=128_000)
    openai_max_tool_calls: int = Field(default=2, ge=0, le=20)
    openai_timeout_seconds: float = Field(default=30.0, gt=0, le=600)
    file_search_max_results: int = Field(default=5, ge=1, le=50)
    # The vector store's max_chunk_size_tokens (OpenAI's default: 800; at most 4096).
    file_search_chunk_tokens: int = Field(default=800, ge=100, le=4096)
    file_search_price_per_call: Decimal | None = Field(default=None, gt=0)
    # Unset (or blank): DEFAULT_USER_BUDGET_USD a day; "unlimited" records without limiting.
    user_budget_usd: Decimal | Literal["unlimited"] | None = None
    # Unset: `day` with the default budget, `month` when USER_BUDGET_USD is set without it
    # (what it meant before the default existed, so no monthly budget becomes daily).
    user_budget_period: Literal["day", "month"] | None = None
    model_prices: Annotated[str | None, NoDecode] = None

    @field_validator("file_search_price_per_call", "model_prices", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("user_budget_usd", "user_budget_period", mode="before")
    @classmethod
    def _blank_is_default(cls, value: object) -> object:
        if isinstance(value, str):
            return value.strip().lower() or None
        return value

    @field_validator("user_budget_usd")
    @classmethod
    def _budget_is_money(cls, value: Decimal | str | None) -> Decimal | str | None:
        if isinstance(value, Decimal) and (not value.is_finite() or value < 0):
            raise ValueError(f"expected a USD amount of 0 or more, or {UNLIMITED!r}")
        return value

    @property
    def budget_period(self) -> Literal["day", "month"]:
        """USER_BUDGET_PERIOD, or what it defaults to (see the field)."""
        if self.user_budget_period is not None:
            return self.user_budget_period
        return "month" if isinstance(self.user_budget_usd, Decimal) else "day"

    @field_validator("model_prices")
    @classmethod
    def _prices_parse(cls, value: str | None) -> str | None:
        if value is not None:
            parse_model_prices(value)  # a bad table fails at start, naming MODEL_PRICES
        return value

    @field_validator("file_search_price_per_call")
    @classmethod
    def _whole_micros(cls, value: Decimal | None) -> Decimal | None:
        if value is not None and (value * MICROS_PER_USD) % 1:
            raise ValueError("expected USD with at most 6 decimals")
        return value

    def price_table(self) -> PriceTable:
        """Built-in prices and MODEL_PRICES (which beat built-in rows from their date on)."""
        extra = parse_model_prices(self.model_prices) if self.model_prices else []
        fee = (
            FILE_SEARCH_CALL_MICROS
            if self.file_search_price_per_call is None
            else usd_to_micros(self.file_search_price_per_call)
        )
        return PriceTable([*BUILT_IN_PRICES, *extra], fee)

    def priced_today(self, model: str) -> bool:
        """Whether `model` has a price in force today (UTC): calls to it can be bounded."""
        try:
            self.price_table().lookup(model, datetime.now(UTC).date())
        except UnpricedModel:
            return False
        return True

    @property
    def user_budget_micros(self) -> int | None:
        """USER_BUDGET_USD in micro-USD; None (set to "unlimited") records without limiting."""
        if self.user_budget_usd is None:
            return usd_to_micros(DEFAULT_USER_BUDGET_USD)
        if isinstance(self.user_budget_usd, Decimal):
            return usd_to_micros(self.user_budget_usd)
        return None
