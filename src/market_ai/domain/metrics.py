"""Daily campaign performance, its totals and the KPIs ad platforms define over them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import (
    ROUND_HALF_EVEN,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
)
from typing import Final

from market_ai.domain.errors import InvalidInput

# Far beyond any platform's daily figures, and sums of many days still fit a signed BIGINT.
COUNT_MAX: Final = 10**15
MONEY_MAX: Final = Decimal(10**12)  # exclusive; 10^12 in micros is 10^18 < 2^63
MONEY_PLACES: Final = 6  # storage keeps micro-units, as platforms export cost_micros
MICRO: Final = Decimal(1).scaleb(-MONEY_PLACES)
CENT: Final = Decimal("0.01")
ZERO_MONEY: Final = Decimal("0.00")

# KPI rounding, ROUND_HALF_EVEN (banker's): unbiased when many rounded values are summed or
# averaged later (trends, pacing). Rates (CTR, CVR) are fractions kept to 6 places, i.e.
# 0.0001 of a percentage point: tiny display CTRs (0.05%) keep 3 significant digits. Money per
# unit (CPC, CPA, CPM) and ROAS keep 4 places: a hundredth of a cent, below any billing unit,
# yet sub-cent display CPCs stay visible.
RATE_QUANTUM: Final = Decimal("0.000001")
MONEY_RATIO_QUANTUM: Final = Decimal("0.0001")

# A private context: results never depend on a caller's thread-local precision or traps, and
# 60 digits hold any quotient of bounded sums exactly before it is quantized.
_CONTEXT: Final = Context(
    prec=60, rounding=ROUND_HALF_EVEN, traps=[InvalidOperation, DivisionByZero, Overflow]
)


def check_count(field: str, value: object) -> int:
    """Counts are whole, non-negative and bounded; a bool is not a count."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(field, "must be a whole number")
    if value < 0:
        raise InvalidInput(field, "must be zero or more")
    if value > COUNT_MAX:
        raise InvalidInput(field, f"must be at most {COUNT_MAX}")
    return value


def check_money(field: str, value: object) -> Decimal:
    """Money is exact: Decimal, int or decimal string (never float), >= 0, <= 6 places.

    The result is canonical (2 to 6 places), so the same amount reads the same whether it
    came from a request, memory or micro-units in a database.
    """
    if isinstance(value, bool) or not isinstance(value, Decimal | int | str):
        raise InvalidInput(field, "must be an exact decimal amount")
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise InvalidInput(field, "must be a decimal number") from None
    if not amount.is_finite():
        raise InvalidInput(field, "must be a finite number")
    if amount < 0:
        raise InvalidInput(field, "must be zero or more")
    if amount >= MONEY_MAX:
        raise InvalidInput(field, f"must be less than {MONEY_MAX}")
    micros = amount.quantize(MICRO, context=_CONTEXT)
    if micros != amount:
        raise InvalidInput(field, f"must have at most {MONEY_PLACES} decimal places")
    return canonical_money(micros)


def canonical_money(amount: Decimal) -> Decimal:
    """At least cents, at most micros, trailing zeros past the cents dropped."""
    cents = amount.quantize(CENT, context=_CONTEXT)
    return cents if cents == amount else amount.normalize(_CONTEXT)


@dataclass(frozen=True, slots=True)
class DailyMetrics:
    """One campaign's performance on one day, as an ad platform reports it.

    Conversions are not capped by clicks: platforms count view-through conversions too.
    The day is called `date` in errors, as it is on the wire.
    """

    day: date
    impressions: int
    clicks: int
    conversions: int
    spend: Decimal
    revenue: Decimal

    def __post_init__(self) -> None:
        if isinstance(self.day, datetime) or not isinstance(self.day, date):
            raise InvalidInput("date", "must be a calendar date")
        impressions = check_count("impressions", self.impressions)
        if check_count("clicks", self.clicks) > impressions:
            raise InvalidInput("clicks", "must not exceed impressions")
        check_count("conversions", self.conversions)
        object.__setattr__(self, "spend", check_money("spend", self.spend))
        object.__setattr__(self, "revenue", check_money("revenue", self.revenue))


@dataclass(frozen=True, slots=True)
class Totals:
    """Sums over a set of days; exact (integers and unrounded Decimal money)."""

    days: int = 0
    impressions: int = 0
    clicks: int = 0
    conversions: int = 0
    spend: Decimal = ZERO_MONEY
    revenue: Decimal = ZERO_MONEY

    @classmethod
    def of(cls, rows: Iterable[DailyMetrics]) -> Totals:
        """Add the days up; money addition stays exact in the private context."""
        days = impressions = clicks = conversions = 0
        spend = revenue = ZERO_MONEY
        for row in rows:
            days += 1
            impressions += row.impressions
            clicks += row.clicks
            conversions += row.conversions
            spend = _CONTEXT.add(spend, row.spend)
            revenue = _CONTEXT.add(revenue, row.revenue)
        return cls(
            days=days,
            impressions=impressions,
            clicks=clicks,
            conversions=conversions,
            spend=canonical_money(spend),
            revenue=canonical_money(revenue),
        )


def _ratio(
    numerator: Decimal | int, denominator: Decimal | int, quantum: Decimal
) -> Decimal | None:
    """Divide, rounding half-even to `quantum`; None when undefined (a zero denominator)."""
    if denominator == 0:
        return None
    quotient = _CONTEXT.divide(Decimal(numerator), Decimal(denominator))
    return quotient.quantize(quantum, context=_CONTEXT)


@dataclass(frozen=True, slots=True)
class Kpis:
    """The ratios ad platforms report; None where the denominator is zero.

    Over a range they come from summed numerators and denominators (a weighted figure),
    never from an average of daily ratios, which would weigh a 10-impression day like a
    million-impression one.
    """

    ctr: Decimal | None = None
    cvr: Decimal | None = None
    cpc: Decimal | None = None
    cpa: Decimal | None = None
    cpm: Decimal | None = None
    roas: Decimal | None = None

    @classmethod
    def of(cls, totals: Totals) -> Kpis:
        """Derive each ratio from the sums, as the ad platforms define it.

        CTR = clicks/impressions, CVR = conversions/clicks, CPC = spend/clicks,
        CPA = spend/conversions, CPM = spend/impressions x 1000, ROAS = revenue/spend.
        """
        spend_per_mille = _CONTEXT.multiply(totals.spend, Decimal(1000))
        return cls(
            ctr=_ratio(totals.clicks, totals.impressions, RATE_QUANTUM),
            cvr=_ratio(totals.conversions, totals.clicks, RATE_QUANTUM),
            cpc=_ratio(totals.spend, totals.clicks, MONEY_RATIO_QUANTUM),
            cpa=_ratio(totals.spend, totals.conversions, MONEY_RATIO_QUANTUM),
            cpm=_ratio(spend_per_mille, totals.impressions, MONEY_RATIO_QUANTUM),
            roas=_ratio(totals.revenue, totals.spend, MONEY_RATIO_QUANTUM),
        )


@dataclass(frozen=True, slots=True)
class MetricsSummary:
    """Totals and the KPIs derived from them: what reports and analyses build on."""

    totals: Totals
    kpis: Kpis


def summarise(rows: Iterable[DailyMetrics]) -> MetricsSummary:
    """Sum the days, then derive every KPI from the sums."""
    totals = Totals.of(rows)
    return MetricsSummary(totals=totals, kpis=Kpis.of(totals))
