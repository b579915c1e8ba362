"""Model prices: a versioned table in exact micro-USD, extended by operators, failing closed."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from market_ai.domain.errors import BudgetExceeded

MICROS_PER_USD: Final = 1_000_000
TOKENS_PER_PRICE_UNIT: Final = 1_000_000  # prices are quoted per 1M tokens
_SNAPSHOT: Final = re.compile(r"-\d{4}-\d{2}-\d{2}$")  # gpt-4o-mini-2024-07-18 of gpt-4o-mini
ALWAYS: Final = date.min  # an operator's entry without a date: in force at once


class UnpricedModel(BudgetExceeded):
    """A model without a positive price: its spend cannot be bounded, so it is never called."""


@dataclass(frozen=True, slots=True)
class Price:
    """One model's price from `effective` on, in micro-USD per 1M tokens (exact integers).

    `operator` marks a MODEL_PRICES entry: from its date on it beats every built-in row.
    """

    model: str
    effective: date
    input: int
    cached_input: int
    output: int
    operator: bool = False

    def __post_init__(self) -> None:
        if self.input <= 0 or self.output <= 0:
            raise UnpricedModel(f"model {self.model!r} has a zero price: refused")
        if not 0 <= self.cached_input <= self.input:
            raise ValueError(f"model {self.model!r}: cached input must be within [0, input]")


def _usd(value: float | str | Decimal) -> Decimal:
    return Decimal(str(value))


def _micros(usd: Decimal, what: str) -> int:
    scaled = usd * MICROS_PER_USD
    if not scaled.is_finite() or scaled != scaled.to_integral_value() or scaled < 0:
        raise ValueError(f"{what}: expected a non-negative USD amount with at most 6 decimals")
    return int(scaled)


def price(  # noqa: PLR0913 - the row as the pricing page quotes it
    model: str,
    effective: date,
    input_usd: str,
    cached_usd: str,
    output_usd: str,
    *,
    operator: bool = False,
) -> Price:
    """A price from USD-per-1M-token strings, as the provider's pricing page quotes them."""
    return Price(
        model,
        effective,
        _micros(_usd(input_usd), f"{model} input"),
        _micros(_usd(cached_usd), f"{model} cached input"),
        _micros(_usd(output_usd), f"{model} output"),
        operator=operator,
    )


def snapshot_of(model: str, base: str) -> bool:
    """Whether `model` is a dated snapshot of `base` (`gpt-4o-2024-08-06` of `gpt-4o`)."""
    return model != base and _SNAPSHOT.sub("", model) == base


# OpenAI standard-tier list prices (USD per 1M tokens: input, cached input, output), as
# published on openai.com/api/pricing; checked 2025-08-07 (the gpt-5 launch), when every
# row below was in force. A dated snapshot has its own row (gpt-4o-2024-05-13 costs twice
# gpt-4o): one without a row is refused, never priced as its base model.
PRICES_CHECKED: Final = date(2025, 8, 7)
_LIST: Final = (
    ("gpt-4o-mini", date(2024, 7, 18), "0.15", "0.075", "0.60"),
    ("gpt-4o-mini-2024-07-18", date(2024, 7, 18), "0.15", "0.075", "0.60"),
    ("gpt-4o", date(2024, 10, 1), "2.50", "1.25", "10.00"),
    ("gpt-4o-2024-05-13", date(2024, 5, 13), "5.00", "5.00", "15.00"),
    ("gpt-4o-2024-08-06", date(2024, 8, 6), "2.50", "1.25", "10.00"),
    ("gpt-4o-2024-11-20", date(2024, 11, 20), "2.50", "1.25", "10.00"),
    ("gpt-4.1", date(2025, 4, 14), "2.00", "0.50", "8.00"),
    ("gpt-4.1-2025-04-14", date(2025, 4, 14), "2.00", "0.50", "8.00"),
    ("gpt-4.1-mini", date(2025, 4, 14), "0.40", "0.10", "1.60"),
    ("gpt-4.1-mini-2025-04-14", date(2025, 4, 14), "0.40", "0.10", "1.60"),
    ("gpt-4.1-nano", date(2025, 4, 14), "0.10", "0.025", "0.40"),
    ("gpt-4.1-nano-2025-04-14", date(2025, 4, 14), "0.10", "0.025", "0.40"),
    ("o4-mini", date(2025, 4, 16), "1.10", "0.275", "4.40"),
    ("o4-mini-2025-04-16", date(2025, 4, 16), "1.10", "0.275", "4.40"),
    ("gpt-5", date(2025, 8, 7), "1.25", "0.125", "10.00"),
    ("gpt-5-2025-08-07", date(2025, 8, 7), "1.25", "0.125", "10.00"),
    ("gpt-5-mini", date(2025, 8, 7), "0.25", "0.025", "2.00"),
    ("gpt-5-mini-2025-08-07", date(2025, 8, 7), "0.25", "0.025", "2.00"),
    ("gpt-5-nano", date(2025, 8, 7), "0.05", "0.005", "0.40"),
    ("gpt-5-nano-2025-08-07", date(2025, 8, 7), "0.05", "0.005", "0.40"),
)
BUILT_IN_PRICES: Final = tuple(price(*row) for row in _LIST)
# The hosted file_search tool: USD 2.50 per 1,000 calls (same page, same date).
FILE_SEARCH_CALL_MICROS: Final = 2_500


class PriceTable:
    """Looks prices up by model and day.

    Of the entries in force on that day, an operator's (MODEL_PRICES) beats a built-in row
    whatever their dates: the operator knows what they pay. Among equals the latest wins.
    """

    def __init__(self, prices: tuple[Price, ...] | list[Price], file_search_call: int) -> None:
        self._by_model: dict[str, list[Price]] = {}
        for entry in prices:
            self._by_model.setdefault(entry.model, []).append(entry)
        for entries in self._by_model.values():
            entries.sort(key=lambda p: (p.operator, p.effective))
        if file_search_call <= 0:
            raise UnpricedModel("the file_search tool has a zero price: refused")
        self.file_search_call = file_search_call

    def __contains__(self, model: object) -> bool:
        """Whether `model` has a price of its own (a snapshot does not borrow its base's)."""
        return isinstance(model, str) and model in self._by_model

    def models(self) -> list[str]:
        """Every model with at least one price."""
        return sorted(self._by_model)

    def lookup(self, model: str, on: date) -> Price:
        """The price in force on `on`; UnpricedModel (fail closed) when there is none."""
        in_force = [p for p in self._by_model.get(model, ()) if p.effective <= on]
        if not in_force:
            raise UnpricedModel(f"model {model!r} has no price in force on {on}: refused")
        return in_force[-1]


def parse_model_prices(raw: str) -> list[Price]:
    """Parse MODEL_PRICES, USD per 1M tokens, with Decimal: floats are never involved.

    Shape: {"model": {"input": "0.3", "cached_input": "0.15", "output": "1.2",
    "effective": "2025-09-01"}}; cached_input defaults to input. An entry applies from its
    `effective` date, one without a date at once, and beats the built-in rows either way.
    """
    try:
        loaded: Any = json.loads(raw, parse_float=Decimal, parse_int=Decimal)
    except json.JSONDecodeError as error:
        raise ValueError(f"not JSON: {error.msg}") from None
    if not isinstance(loaded, dict):
        raise ValueError("expected a JSON object keyed by model name")  # noqa: TRY004
    prices = []
    for model, spec in loaded.items():
        if not isinstance(spec, dict) or not {"input", "output"} <= spec.keys():
            raise ValueError(f"{model}: expected an object with input and output prices")
        try:
            dated = spec.get("effective")
            effective = ALWAYS if dated is None else date.fromisoformat(str(dated))
            prices.append(
                price(
                    str(model),
                    effective,
                    str(spec["input"]),
                    str(spec.get("cached_input", spec["input"])),
                    str(spec["output"]),
                    operator=True,
                )
            )
        except (InvalidOperation, ValueError, UnpricedModel) as error:
            raise ValueError(f"{model}: {error}") from None
    return prices
