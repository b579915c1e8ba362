"""Spend math: worst case before a call bounds the actual cost after it, exactly."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from market_ai.domain.pricing import price
from market_ai.domain.spend import (
    FRAMING_TOKENS_PER_TURN,
    CallBounds,
    Usage,
    actual_micros,
    input_token_bound,
    micros_to_usd,
    usd_to_micros,
    worst_case_micros,
)

MINI = price("gpt-4o-mini", date(2024, 7, 18), "0.15", "0.075", "0.60")
FEE = 2_500


def test_input_bound_is_utf8_bytes_plus_framing() -> None:
    bounds = CallBounds(max_output_tokens=800, max_tool_calls=2)
    assert input_token_bound(["abc", "é"], bounds) == 3 + 2 + FRAMING_TOKENS_PER_TURN


def test_with_file_search_every_turn_rereads_prompt_results_and_output() -> None:
    bounds = CallBounds(max_output_tokens=800, max_tool_calls=2, file_search=True)
    prompt = 100 + FRAMING_TOKENS_PER_TURN
    assert input_token_bound(["x" * 100], bounds) == 3 * (prompt + 2 * 5 * 800 + 800)


def test_worst_case_without_tools() -> None:
    bounds = CallBounds(max_output_tokens=800, max_tool_calls=2)
    # 1000 x 0.15 + 800 x 0.60 = 150 + 480 micro-USD; no file_search, no call fee
    assert worst_case_micros(MINI, FEE, 1000, bounds) == 630


def test_worst_case_with_file_search_adds_the_call_fee() -> None:
    bounds = CallBounds(max_output_tokens=800, max_tool_calls=2, file_search=True)
    assert worst_case_micros(MINI, FEE, 1000, bounds) == 630 + 2 * 2_500


def test_actual_cost_prices_cached_input_and_counts_reasoning_once() -> None:
    usage = Usage(
        input_tokens=10_000, cached_tokens=4_000, output_tokens=2_000, reasoning_tokens=1_500
    )
    # 6000 x 0.15 + 4000 x 0.075 + 2000 x 0.60 = 900 + 300 + 1200
    assert actual_micros(MINI, FEE, usage) == 2_400
    assert actual_micros(MINI, FEE, Usage(tool_calls=2)) == 5_000


def test_fractions_of_a_micro_usd_round_up() -> None:
    assert actual_micros(MINI, FEE, Usage(input_tokens=1)) == 1  # 0.15 micro-USD
    assert actual_micros(MINI, FEE, Usage(input_tokens=7, output_tokens=1)) == 2  # 1.65


def test_worst_case_bounds_any_usage_within_the_bounds() -> None:
    bounds = CallBounds(max_output_tokens=800, max_tool_calls=2, file_search=True)
    texts = ["Write an email", "Campaign: Spring sale"]
    bound = input_token_bound(texts, bounds)
    worst = worst_case_micros(MINI, FEE, bound, bounds)
    heaviest = Usage(input_tokens=bound, output_tokens=800, tool_calls=2)
    assert actual_micros(MINI, FEE, heaviest) == worst


def test_usd_conversions_are_exact() -> None:
    assert micros_to_usd(1234) == Decimal("0.001234")
    assert usd_to_micros(Decimal("10.0")) == 10_000_000
    assert usd_to_micros(Decimal("0.0000019")) == 1  # rounding down never loosens a limit
