"""Budget pacing: how a campaign's spend compares with an even spread over its flight."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from decimal import ROUND_HALF_EVEN, Context, Decimal, DivisionByZero, InvalidOperation, Overflow
from enum import StrEnum
from typing import Final

CENT: Final = Decimal("0.01")
PERCENT_QUANTUM: Final = Decimal("0.01")
_CONTEXT: Final = Context(
    prec=60, rounding=ROUND_HALF_EVEN, traps=[InvalidOperation, DivisionByZero, Overflow]
)


class PacingStatus(StrEnum):
    """Where `as_of` falls relative to the flight; `unknown` when there is no flight."""

    UNKNOWN = "unknown"
    NOT_STARTED = "not_started"
    IN_FLIGHT = "in_flight"
    ENDED = "ended"


@dataclass(frozen=True, slots=True)
class Pacing:
    """Spend against an even daily spread of the budget over the flight.

    Figures that cannot be defined are None and `reason` says why, so a dashboard shows
    "not started" rather than a division by zero. Money is rounded half-even to cents and
    percentages to hundredths only at the end: every intermediate value is exact.
    """

    status: PacingStatus
    budget: Decimal
    spend: Decimal
    flight_days: int | None = None
    elapsed_days: int | None = None
    remaining_days: int | None = None
    expected_spend: Decimal | None = None
    pacing_percent: Decimal | None = None
    projected_spend: Decimal | None = None
    required_daily_spend: Decimal | None = None
    reason: str | None = None


def _money(value: Decimal) -> Decimal:
    return value.quantize(CENT, context=_CONTEXT)


def _div(numerator: Decimal, denominator: Decimal | int) -> Decimal:
    return _CONTEXT.divide(numerator, Decimal(denominator))


def elapsed_days(starts_on: date, ends_on: date, as_of: date) -> int:
    """Days of the flight up to and including `as_of`, clamped to [0, flight days].

    Inclusive: on the first day of a flight one day has elapsed, so the expected spend is
    one day's share; a day is counted as soon as it begins, like ad platforms' pacing.
    """
    flight = (ends_on - starts_on).days + 1
    return max(0, min(flight, (as_of - starts_on).days + 1))


def pace(
    budget: Decimal, spend: Decimal, starts_on: date | None, ends_on: date | None, as_of: date
) -> Pacing:
    """Pacing of `spend` (within the flight, up to `as_of`) against `budget`.

    expected = budget x elapsed / flight days; pacing % = spend / expected x 100;
    projected = spend / elapsed x flight days; required daily = (budget - spend) / remaining
    days, never below zero. Edge rules: no flight dates -> unknown, every figure None;
    before the start -> nothing expected yet, so pacing and projection are None, and the
    required daily spend is the whole budget over the whole flight; on the last day ->
    remaining = 0 and the required daily spend is all that is left (today must take it);
    after the end -> no required daily spend; a zero budget -> pacing None (nothing was
    expected).
    """
    budget, spend = Decimal(budget), Decimal(spend)
    if starts_on is None or ends_on is None:
        return Pacing(PacingStatus.UNKNOWN, _money(budget), _money(spend), reason="no flight dates")
    flight = (ends_on - starts_on).days + 1
    elapsed = elapsed_days(starts_on, ends_on, as_of)
    remaining = flight - elapsed
    if as_of < starts_on:
        status = PacingStatus.NOT_STARTED
    elif as_of > ends_on:
        status = PacingStatus.ENDED
    else:
        status = PacingStatus.IN_FLIGHT
    left = max(_CONTEXT.subtract(budget, spend), Decimal(0))
    if remaining:
        required: Decimal | None = _money(_div(left, remaining))
    else:  # the last day: today is the only day left to spend in; after the end, none is
        required = _money(left) if status is PacingStatus.IN_FLIGHT else None
    base = Pacing(
        status,
        _money(budget),
        _money(spend),
        flight_days=flight,
        elapsed_days=elapsed,
        remaining_days=remaining,
        required_daily_spend=required,
    )
    if elapsed == 0:
        return replace(base, expected_spend=_money(Decimal(0)), reason="the flight has not started")
    expected = _div(_CONTEXT.multiply(budget, Decimal(elapsed)), flight)
    timed = replace(
        base,
        expected_spend=_money(expected),
        projected_spend=_money(_CONTEXT.multiply(_div(spend, elapsed), Decimal(flight))),
    )
    if expected == 0:
        return replace(timed, reason="the budget is zero")
    percent = _CONTEXT.multiply(_div(spend, expected), Decimal(100))
    return replace(timed, pacing_percent=percent.quantize(PERCENT_QUANTUM, context=_CONTEXT))
