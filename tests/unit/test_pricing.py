"""Prices: exact micro-USD, versioned by date, extended by operators, failing closed."""

from __future__ import annotations

from datetime import date

import pytest

from market_ai.domain.pricing import (
    BUILT_IN_PRICES,
    FILE_SEARCH_CALL_MICROS,
    PriceTable,
    UnpricedModel,
    parse_model_prices,
    price,
)
from market_ai.settings import SettingsError, load_settings

TODAY = date(2025, 9, 1)


def table(*extra: object) -> PriceTable:
    return PriceTable([*BUILT_IN_PRICES, *extra], FILE_SEARCH_CALL_MICROS)  # type: ignore[list-item]


@pytest.mark.parametrize(
    ("model", "per_million"),
    [
        ("gpt-4o-mini", (150_000, 75_000, 600_000)),
        ("gpt-4o", (2_500_000, 1_250_000, 10_000_000)),
        ("gpt-4.1", (2_000_000, 500_000, 8_000_000)),
        ("gpt-4.1-mini", (400_000, 100_000, 1_600_000)),
        ("gpt-4.1-nano", (100_000, 25_000, 400_000)),
        ("o4-mini", (1_100_000, 275_000, 4_400_000)),
        ("gpt-5", (1_250_000, 125_000, 10_000_000)),
        ("gpt-5-mini", (250_000, 25_000, 2_000_000)),
        ("gpt-5-nano", (50_000, 5_000, 400_000)),
    ],
)
def test_the_built_in_table_in_micro_usd_per_million(
    model: str, per_million: tuple[int, int, int]
) -> None:
    found = table().lookup(model, TODAY)
    assert (found.input, found.cached_input, found.output) == per_million
    assert FILE_SEARCH_CALL_MICROS == 2_500  # USD 2.50 per 1,000 calls


def test_a_dated_snapshot_is_priced_by_its_own_row_and_refused_without_one() -> None:
    assert table().lookup("gpt-4o-mini-2024-07-18", TODAY).model == "gpt-4o-mini-2024-07-18"
    # gpt-4o-2024-05-13 costs twice gpt-4o: priced as its base model it was under-counted
    assert table().lookup("gpt-4o-2024-05-13", TODAY).input == 5_000_000
    assert table().lookup("gpt-4o", TODAY).input == 2_500_000
    with pytest.raises(UnpricedModel):
        table().lookup("gpt-4o-2026-01-01", TODAY)  # was priced as gpt-4o
    assert "gpt-4o-2026-01-01" not in table()


def test_an_operator_entry_without_a_date_beats_the_built_in_row_at_once() -> None:
    (operator,) = parse_model_prices('{"gpt-4o-mini": {"input": "0.30", "output": "1.20"}}')
    found = table(operator).lookup("gpt-4o-mini", TODAY)
    assert (found.input, found.cached_input, found.output) == (300_000, 300_000, 1_200_000)


def test_an_operator_entry_with_a_date_applies_from_that_date() -> None:
    raw = '{"gpt-4o": {"input": "2.00", "output": "8.00", "effective": "2025-10-01"}}'
    prices = table(*parse_model_prices(raw))
    assert prices.lookup("gpt-4o", date(2025, 9, 30)).input == 2_500_000
    assert prices.lookup("gpt-4o", date(2025, 10, 1)).input == 2_000_000
    # dated before a built-in row, it still wins: the operator knows what they pay
    early = '{"gpt-5": {"input": "1.00", "output": "8.00", "effective": "2025-01-01"}}'
    assert table(*parse_model_prices(early)).lookup("gpt-5", TODAY).input == 1_000_000


def test_unknown_models_and_models_not_yet_priced_are_refused() -> None:
    with pytest.raises(UnpricedModel, match="no price"):
        table().lookup("gpt-9-ultra", TODAY)
    with pytest.raises(UnpricedModel):
        table().lookup("gpt-5", date(2025, 1, 1))  # before its price took effect


def test_the_latest_price_in_force_wins() -> None:
    cheaper = price("gpt-4o", date(2025, 10, 1), "2.00", "1.00", "8.00")
    prices = table(cheaper)
    assert prices.lookup("gpt-4o", TODAY).input == 2_500_000
    assert prices.lookup("gpt-4o", date(2025, 10, 2)).input == 2_000_000


def test_zero_prices_are_refused() -> None:
    with pytest.raises(UnpricedModel, match="zero price"):
        price("free-model", TODAY, "0", "0", "1")
    with pytest.raises(UnpricedModel):
        PriceTable(list(BUILT_IN_PRICES), 0)


def test_model_prices_parse_as_decimals() -> None:
    raw = '{"acme-1": {"input": 0.3, "output": "1.2", "effective": "2025-09-01"}}'
    (parsed,) = parse_model_prices(raw)
    assert (parsed.input, parsed.cached_input, parsed.output) == (300_000, 300_000, 1_200_000)


@pytest.mark.parametrize(
    "raw",
    [
        "not json",
        "[]",
        '{"m": {"input": "1"}}',
        '{"m": {"input": "0", "output": "1"}}',
        '{"m": {"input": "0.0000001", "output": "1"}}',
        '{"m": {"input": "1", "output": "1", "effective": "yesterday"}}',
    ],
)
def test_bad_model_prices_fail_at_start_naming_the_variable(raw: str) -> None:
    with pytest.raises(SettingsError, match="MODEL_PRICES"):
        load_settings(_env_file=None, model_prices=raw)


def test_an_unpriced_default_model_fails_at_start() -> None:
    with pytest.raises(SettingsError, match="DEFAULT_MODEL"):
        load_settings(_env_file=None, openai_api_key="sk-test", default_model="gpt-9-ultra")
    with pytest.raises(SettingsError, match="DEFAULT_MODEL"):  # without a key too (README)
        load_settings(_env_file=None, default_model="gpt-9-ultra")
    with pytest.raises(SettingsError, match="DEFAULT_MODEL"):  # a snapshot with no row
        load_settings(_env_file=None, default_model="gpt-4o-mini-2030-01-01")
    future = '{"acme-2": {"input": "1", "output": "1", "effective": "2999-01-01"}}'
    with pytest.raises(SettingsError, match="DEFAULT_MODEL"):  # no price in force yet
        load_settings(_env_file=None, default_model="acme-2", model_prices=future)
    extended = load_settings(
        _env_file=None,
        openai_api_key="sk-test",
        default_model="acme-1",
        model_prices='{"acme-1": {"input": "0.3", "output": "1.2"}}',
    )
    assert extended.price_table().lookup("acme-1", TODAY).output == 1_200_000
