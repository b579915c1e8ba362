"""Analysis math on hand-computed examples: pacing and its edges, trend, best and worst days."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from market_ai.domain.analysis import analyse, analysis_window, best_and_worst, document, trend
from market_ai.domain.campaigns import Campaign, Channel
from market_ai.domain.metrics import DailyMetrics
from market_ai.domain.pacing import PacingStatus, elapsed_days, pace

MAR1, MAR30 = date(2026, 3, 1), date(2026, 3, 30)
D = Decimal


def day(d: date, spend: str = "10", revenue: str = "20", conversions: int = 1) -> DailyMetrics:
    return DailyMetrics(
        day=d,
        impressions=1000,
        clicks=10,
        conversions=conversions,
        spend=D(spend),
        revenue=D(revenue),
    )


def march(n: int, **values: Any) -> DailyMetrics:
    return day(MAR1 + timedelta(days=n - 1), **values)


def campaign(**values: Any) -> Campaign:
    now = datetime(2026, 2, 1, tzinfo=UTC)
    return Campaign(owner_id="alice", name="Spring", channel=Channel.SEARCH,
                    created_at=now, updated_at=now, **values)  # fmt: skip


def test_pacing_in_flight_on_a_round_example() -> None:
    # 3000 over 30 days, day 10: expected 1000, spent 1200.
    p = pace(D("3000"), D("1200"), MAR1, MAR30, date(2026, 3, 10))
    assert p.status is PacingStatus.IN_FLIGHT
    assert (p.flight_days, p.elapsed_days, p.remaining_days) == (30, 10, 20)
    assert p.expected_spend == D("1000.00")
    assert p.pacing_percent == D("120.00")
    assert p.projected_spend == D("3600.00")  # 1200 / 10 x 30
    assert p.required_daily_spend == D("90.00")  # (3000 - 1200) / 20
    assert p.reason is None


def test_pacing_divides_exactly_and_rounds_once_at_the_end() -> None:
    # Expected 100/3 = 33.33...; 33.33 spent is 99.99 % of it (rounding expected first
    # to 33.33 would claim 100.00 %).
    p = pace(D("100"), D("33.33"), MAR1, date(2026, 3, 3), MAR1)
    assert p.expected_spend == D("33.33")
    assert p.pacing_percent == D("99.99")
    assert p.projected_spend == D("99.99")
    assert p.required_daily_spend == D("33.34")  # 66.67 / 2 = 33.335, half-even


def test_elapsed_days_are_inclusive_and_clamped_to_the_flight() -> None:
    assert elapsed_days(MAR1, MAR30, date(2026, 2, 27)) == 0
    assert elapsed_days(MAR1, MAR30, MAR1) == 1
    assert elapsed_days(MAR1, MAR30, MAR30) == 30
    assert elapsed_days(MAR1, MAR30, date(2026, 5, 1)) == 30


def test_no_flight_dates_leave_pacing_unknown_with_a_reason() -> None:
    for starts_on, ends_on in ((None, None), (MAR1, None), (None, MAR30)):
        p = pace(D("3000"), D("50"), starts_on, ends_on, MAR1)
        assert p.status is PacingStatus.UNKNOWN
        assert p.reason == "no flight dates"
        assert p.expected_spend is p.pacing_percent is p.projected_spend is None
        assert p.required_daily_spend is None
        assert (p.budget, p.spend) == (D("3000.00"), D("50.00"))


def test_before_the_start_nothing_is_expected_yet() -> None:
    p = pace(D("3000"), D("0"), MAR1, MAR30, date(2026, 2, 20))
    assert p.status is PacingStatus.NOT_STARTED
    assert (p.elapsed_days, p.remaining_days) == (0, 30)
    assert p.expected_spend == D("0.00")
    assert p.pacing_percent is None
    assert p.projected_spend is None
    assert p.required_daily_spend == D("100.00")
    assert p.reason == "the flight has not started"


def test_after_the_end_the_whole_budget_was_expected_and_nothing_is_required() -> None:
    p = pace(D("3000"), D("2900"), MAR1, MAR30, date(2026, 4, 5))
    assert p.status is PacingStatus.ENDED
    assert (p.elapsed_days, p.remaining_days) == (30, 0)
    assert p.expected_spend == D("3000.00")
    assert p.pacing_percent == D("96.67")
    assert p.projected_spend == D("2900.00")
    assert p.required_daily_spend is None


def test_a_zero_budget_has_no_pacing_and_overspend_requires_nothing() -> None:
    p = pace(D("0"), D("10"), MAR1, MAR30, date(2026, 3, 5))
    assert p.expected_spend == D("0.00")
    assert p.pacing_percent is None
    assert p.reason == "the budget is zero"
    assert p.required_daily_spend == D("0.00")
    over = pace(D("100"), D("150"), MAR1, MAR30, date(2026, 3, 5))
    assert over.required_daily_spend == D("0.00")


def test_a_one_day_flight_on_its_day() -> None:
    p = pace(D("50"), D("25"), MAR1, MAR1, MAR1)
    assert (p.flight_days, p.elapsed_days, p.remaining_days) == (1, 1, 0)
    assert p.pacing_percent == D("50.00")
    assert p.required_daily_spend == D("25.00")  # today is the only day left to spend it


def test_the_last_day_of_a_flight_requires_all_that_is_left() -> None:
    p = pace(D("3000"), D("2900"), MAR1, MAR30, MAR30)
    assert p.status is PacingStatus.IN_FLIGHT
    assert (p.elapsed_days, p.remaining_days) == (30, 0)
    assert p.required_daily_spend == D("100.00")  # was null: nothing told what today needs
    overspent = pace(D("3000"), D("3100"), MAR1, MAR30, MAR30)
    assert overspent.required_daily_spend == D("0.00")


def test_week_over_week_and_day_over_day() -> None:
    rows = [march(n, spend="10", revenue="20") for n in range(1, 8)]
    rows += [march(n, spend="20", revenue="30", conversions=2) for n in range(8, 15)]
    t = trend(rows, date(2026, 3, 14))
    week = t.week_over_week
    assert week is not None
    assert (week.current_start, week.current_days, week.previous_days) == (march(8).day, 7, 7)
    assert (week.spend.current, week.spend.previous) == (D("140.00"), D("70.00"))
    assert week.spend.change_percent == D("100.00")
    assert week.conversions.change_percent == D("100.00")
    assert (week.roas.current, week.roas.previous) == (D("1.5000"), D("2.0000"))
    assert week.roas.change_percent == D("-25.00")
    dod = t.day_over_day
    assert dod is not None
    assert dod.current_start == march(14).day
    assert dod.spend.change_percent == D("0.00")


def test_trend_without_a_comparable_day_or_period() -> None:
    t = trend([march(3), march(5, spend="0", revenue="0")], date(2026, 3, 5))
    assert t.day_over_day is None  # 4 March has no figures: a gap is not a zero
    week = t.week_over_week
    assert week is not None
    assert week.spend.previous == D("0.00")
    assert week.spend.change_percent is None  # nothing before: no percentage
    assert trend([], MAR1) == type(t)(day_over_day=None, week_over_week=None)


def test_best_and_worst_days_by_roas_then_conversions_then_date() -> None:
    rows = [
        march(1, spend="10", revenue="30"),  # ROAS 3
        march(2, spend="10", revenue="30", conversions=5),  # ROAS 3, more conversions
        march(3, spend="10", revenue="5"),  # ROAS 0.5
        march(4, spend="20", revenue="10"),  # ROAS 0.5, same conversions: later date
        march(5, spend="0", revenue="100"),  # no spend: no ROAS, not ranked
    ]
    best, worst = best_and_worst(rows)
    assert best is not None
    assert worst is not None
    assert (best.day, best.roas) == (march(2).day, D("3.0000"))
    assert (worst.day, worst.roas) == (march(3).day, D("0.5000"))
    assert best_and_worst([march(5, spend="0")]) == (None, None)


def test_the_window_follows_the_flight_or_the_last_30_days() -> None:
    as_of = date(2026, 3, 10)
    assert analysis_window(campaign(starts_on=MAR1, ends_on=MAR30), as_of) == (MAR1, as_of)
    ended = campaign(starts_on=MAR1, ends_on=date(2026, 3, 5))
    assert analysis_window(ended, as_of) == (MAR1, date(2026, 3, 5))
    assert analysis_window(campaign(), as_of) == (date(2026, 2, 9), as_of)


def test_analyse_uses_only_the_window_and_documents_exact_strings() -> None:
    c = campaign(budget=D("3000.00"), starts_on=MAR1, ends_on=MAR30)
    rows = [day(date(2026, 2, 28), spend="999"), *(march(n) for n in range(1, 11))]
    report = analyse(c, rows, date(2026, 3, 10))
    assert report.summary.totals.days == 10
    assert report.summary.totals.spend == D("100.00")
    assert report.pacing.pacing_percent == D("10.00")  # 100 of an expected 1000
    doc = document(report)
    assert doc["totals"]["spend"] == "100.00"
    assert doc["kpis"]["roas"] == "2.0000"
    assert doc["pacing"]["status"] == "in_flight"
    assert doc["start"] == "2026-03-01"
    assert doc["best_day"]["day"] == "2026-03-01"
    assert "summary" not in doc


@pytest.mark.parametrize("as_of", [date(2026, 2, 1), date(2026, 3, 15), date(2026, 6, 1)])
def test_analyse_a_campaign_without_figures(as_of: date) -> None:
    report = analyse(campaign(budget=D("10.00"), starts_on=MAR1, ends_on=MAR30), [], as_of)
    assert report.summary.totals.days == 0
    assert (report.best_day, report.worst_day) == (None, None)
    assert report.trend.week_over_week is None
