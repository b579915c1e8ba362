"""KPI definitions, range arithmetic, rounding and validation of daily metrics (pure domain)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal, localcontext
from typing import Any

import pytest

from market_ai.domain.errors import InvalidInput
from market_ai.domain.metrics import (
    COUNT_MAX,
    MONEY_MAX,
    DailyMetrics,
    Kpis,
    Totals,
    summarise,
)

DAY = date(2025, 1, 1)


def row(**values: Any) -> DailyMetrics:
    fields: dict[str, Any] = {
        "day": DAY,
        "impressions": 1000,
        "clicks": 50,
        "conversions": 5,
        "spend": Decimal("25.00"),
        "revenue": Decimal("100.00"),
    }
    fields.update(values)
    return DailyMetrics(**fields)


def test_kpis_follow_the_ad_platform_definitions() -> None:
    kpis = summarise([row()]).kpis
    assert kpis.ctr == Decimal("0.05")  # 50 / 1000
    assert kpis.cvr == Decimal("0.1")  # 5 / 50
    assert kpis.cpc == Decimal("0.5")  # 25 / 50
    assert kpis.cpa == Decimal(5)  # 25 / 5
    assert kpis.cpm == Decimal(25)  # 25 / 1000 x 1000
    assert kpis.roas == Decimal(4)  # 100 / 25


def test_kpis_have_fixed_places_rates_six_money_four() -> None:
    kpis = summarise([row()]).kpis
    assert [str(k) for k in (kpis.ctr, kpis.cvr)] == ["0.050000", "0.100000"]
    assert [str(k) for k in (kpis.cpc, kpis.cpa, kpis.cpm, kpis.roas)] == [
        "0.5000",
        "5.0000",
        "25.0000",
        "4.0000",
    ]


def test_repeating_ratios_are_rounded_not_truncated() -> None:
    kpis = summarise([row(impressions=3, clicks=2, conversions=2, spend="1", revenue="2")]).kpis
    assert kpis.ctr == Decimal("0.666667")
    assert kpis.cpm == Decimal("333.3333")


def test_ties_round_half_even() -> None:
    half_down = row(impressions=2_000_000, clicks=1, spend="0.0001", conversions=0)
    half_up = row(impressions=2_000_000, clicks=3, spend="0.0003", conversions=0)
    assert summarise([half_down]).kpis.ctr == Decimal("0.000000")  # 0.0000005 -> even 0
    assert summarise([half_up]).kpis.ctr == Decimal("0.000002")  # 0.0000015 -> even 2
    one_click = summarise([row(impressions=10, clicks=2, spend="0.0001")]).kpis
    assert one_click.cpc == Decimal("0.0000")  # 0.00005 -> even 0
    three = summarise([row(impressions=10, clicks=2, spend="0.0003")]).kpis
    assert three.cpc == Decimal("0.0002")  # 0.00015 -> even 2


def test_range_ratios_come_from_sums_not_from_the_mean_of_daily_ratios() -> None:
    small = row(day=date(2025, 1, 1), impressions=100, clicks=10, spend="10", revenue="50")
    large = row(day=date(2025, 1, 2), impressions=900, clicks=9, spend="90", revenue="90")
    kpis = summarise([small, large]).kpis
    daily_ctrs = [summarise([r]).kpis.ctr for r in (small, large)]
    assert daily_ctrs == [Decimal("0.1"), Decimal("0.01")]  # their mean would be 0.055
    assert kpis.ctr == Decimal("0.019")  # 19 / 1000
    assert kpis.roas == Decimal("1.4")  # 140 / 100; the mean of 5 and 1 would be 3
    assert kpis.cpc == Decimal("5.2632")  # 100 / 19; the mean of 1 and 10 would be 5.5


def test_totals_add_every_day_up() -> None:
    totals = Totals.of([row(day=date(2025, 1, d)) for d in range(1, 4)])
    assert totals == Totals(
        days=3,
        impressions=3000,
        clicks=150,
        conversions=15,
        spend=Decimal("75.00"),
        revenue=Decimal("300.00"),
    )


def test_every_division_by_zero_is_none() -> None:
    assert Kpis.of(Totals()) == Kpis(None, None, None, None, None, None)
    assert summarise([]).kpis == Kpis()
    no_clicks = summarise([row(clicks=0, conversions=0, spend="0", revenue="5")]).kpis
    assert no_clicks.ctr == Decimal(0)
    assert no_clicks.cpm == Decimal(0)
    assert (no_clicks.cvr, no_clicks.cpc, no_clicks.cpa, no_clicks.roas) == (None,) * 4


def test_empty_totals_are_zero() -> None:
    totals = summarise([]).totals
    assert (totals.days, totals.impressions, totals.clicks, totals.conversions) == (0, 0, 0, 0)
    assert str(totals.spend) == str(totals.revenue) == "0.00"


def test_money_sums_are_exact() -> None:
    tenths = [row(day=date(2025, 1, 1), spend="0.1"), row(day=date(2025, 1, 2), spend="0.2")]
    assert Totals.of(tenths).spend == Decimal("0.3")
    micros = [row(day=date(2025, 1, 1 + i % 28), spend="0.000001") for i in range(1000)]
    assert Totals.of(micros).spend == Decimal("0.001")
    assert str(Totals.of(micros).spend) == "0.001"
    big = [row(spend=MONEY_MAX - Decimal("0.000001"), revenue="0")] * 1000
    assert Totals.of(big).spend == Decimal("999999999999999.999")


def test_money_is_canonical_two_to_six_places() -> None:
    assert str(row(spend="12.5").spend) == "12.50"
    assert str(row(spend=3).spend) == "3.00"
    assert str(row(spend="1.234500").spend) == "1.2345"
    assert str(row(spend="0.000001").spend) == "0.000001"
    assert str(row(revenue=Decimal("1E+3")).revenue) == "1000.00"


def test_kpis_do_not_depend_on_the_callers_decimal_context() -> None:
    expected = summarise([row(impressions=3, clicks=2, spend="1")])
    with localcontext() as ctx:
        ctx.prec = 3
        assert summarise([row(impressions=3, clicks=2, spend="1")]) == expected


def test_extreme_values_still_compute_exactly() -> None:
    extreme = row(
        impressions=COUNT_MAX,
        clicks=1,
        conversions=COUNT_MAX,
        spend="0.000001",
        revenue="999999999999.999999",
    )
    kpis = summarise([extreme]).kpis
    assert kpis.roas == Decimal(999999999999999999)
    assert kpis.cvr == Decimal(COUNT_MAX)
    assert kpis.ctr == Decimal("0.000000")


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"impressions": -1}, "impressions"),
        ({"clicks": -1}, "clicks"),
        ({"conversions": -1}, "conversions"),
        ({"impressions": 10, "clicks": 11}, "clicks"),
        ({"impressions": COUNT_MAX + 1}, "impressions"),
        ({"conversions": True}, "conversions"),
        ({"clicks": 1.0}, "clicks"),
        ({"spend": Decimal("-0.01")}, "spend"),
        ({"revenue": Decimal(-1)}, "revenue"),
        ({"spend": Decimal("0.0000001")}, "spend"),
        ({"spend": Decimal("NaN")}, "spend"),
        ({"revenue": Decimal("Infinity")}, "revenue"),
        ({"spend": MONEY_MAX}, "spend"),
        ({"spend": 0.1}, "spend"),
        ({"revenue": "ten"}, "revenue"),
        ({"day": datetime(2025, 1, 1, tzinfo=UTC)}, "date"),
        ({"day": "2025-01-01"}, "date"),
    ],
)
def test_validation_names_the_field(values: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        row(**values)
    assert caught.value.field == field


def test_conversions_may_exceed_clicks() -> None:
    assert row(clicks=1, conversions=3).conversions == 3  # view-through conversions count
