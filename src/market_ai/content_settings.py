"""Content-generation settings: the bounds of every model call, prices and per-user budgets."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode

from market_ai.domain.pricing import (
    BUILT_IN_PRICES,
    FILE_SEARCH_CALL_MICROS,
    MICROS_PER_USD,
    PriceTable,
    parse_model_prices,
)
from market_ai.domain.spend import usd_to_micros


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
    user_budget_usd: Decimal | None = Field(default=None, ge=0)
    user_budget_period: Literal["day", "month"] = "month"
    model_prices: Annotated[str | None, NoDecode] = None

    @field_validator("file_search_price_per_call", "user_budget_usd", "model_prices", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

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
        """Built-in prices, then MODEL_PRICES (a later entry for a model and day wins)."""
        extra = parse_model_prices(self.model_prices) if self.model_prices else []
        fee = (
            FILE_SEARCH_CALL_MICROS
            if self.file_search_price_per_call is None
            else usd_to_micros(self.file_search_price_per_call)
        )
        return PriceTable([*BUILT_IN_PRICES, *extra], fee)

    @property
    def user_budget_micros(self) -> int | None:
        """USER_BUDGET_USD in micro-USD; None leaves per-user budgets off."""
        return None if self.user_budget_usd is None else usd_to_micros(self.user_budget_usd)
