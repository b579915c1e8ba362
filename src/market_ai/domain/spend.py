"""Spend arithmetic: the worst case of a bounded call before it is made, the actual after."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Final

from market_ai.domain.pricing import MICROS_PER_USD, TOKENS_PER_PRICE_UNIT, Price

# Tokens the API adds around each message and turn (roles, separators) that no byte of ours
# accounts for; generous on purpose: an upper bound may only err upwards.
FRAMING_TOKENS_PER_TURN: Final = 64


@dataclass(frozen=True, slots=True)
class CallBounds:
    """What caps one model call. `file_search` adds retrieved chunks to the model's input."""

    max_output_tokens: int
    max_tool_calls: int
    file_search: bool = False
    max_results: int = 5
    chunk_tokens: int = 800

    @property
    def turns(self) -> int:
        """Model turns in one call: one per tool call plus the final answer."""
        return self.max_tool_calls + 1 if self.file_search else 1

    @property
    def tool_calls(self) -> int:
        """Billable file_search calls at most."""
        return self.max_tool_calls if self.file_search else 0


@dataclass(frozen=True, slots=True)
class Usage:
    """What a response reports: cached is part of input, reasoning part of output."""

    input_tokens: int = 0
    cached_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0
    tool_calls: int = 0


def input_token_bound(texts: tuple[str, ...] | list[str], bounds: CallBounds) -> int:
    """An upper bound on billed input tokens, with no tokenizer and no network.

    Byte-level BPE tokens each cover at least one byte, so the UTF-8 length of what is sent
    bounds its tokens; framing is added per turn. With file_search every turn re-reads the
    prompt, all retrieved chunks and the model's own output so far (tool queries, reasoning),
    so the bound is turns x (prompt + max retrieved + max output).
    """
    prompt = sum(len(text.encode()) for text in texts) + FRAMING_TOKENS_PER_TURN
    if not bounds.file_search:
        return prompt
    retrieved = bounds.tool_calls * bounds.max_results * bounds.chunk_tokens
    return bounds.turns * (prompt + retrieved + bounds.max_output_tokens)


def _ceil_micros(scaled: int) -> int:
    """Token counts x per-1M prices, to whole micro-USD, rounding up (never under-count)."""
    return -(-scaled // TOKENS_PER_PRICE_UNIT)


def worst_case_micros(
    price: Price, file_search_call: int, input_bound: int, bounds: CallBounds
) -> int:
    """Input bound x input price + max output x output price + max tool calls x call fee."""
    tokens = input_bound * price.input + bounds.max_output_tokens * price.output
    return _ceil_micros(tokens) + bounds.tool_calls * file_search_call


def actual_micros(price: Price, file_search_call: int, usage: Usage) -> int:
    """(input - cached) x input + cached x cached + output x output + calls x fee.

    Reasoning tokens are already inside `output_tokens` (billed as output), so they are not
    added again.
    """
    cached = min(usage.cached_tokens, usage.input_tokens)
    tokens = (
        (usage.input_tokens - cached) * price.input
        + cached * price.cached_input
        + usage.output_tokens * price.output
    )
    return _ceil_micros(tokens) + usage.tool_calls * file_search_call


def micros_to_usd(micros: int) -> Decimal:
    """Exact USD for display: 1234 micro-USD is Decimal('0.001234')."""
    return Decimal(micros).scaleb(-6).quantize(Decimal("0.000001"))


def usd_to_micros(usd: Decimal) -> int:
    """USD settings to micro-USD, rounding down: a limit is never loosened by rounding."""
    return int((usd * MICROS_PER_USD).to_integral_value(rounding="ROUND_FLOOR"))
