"""The offline summary writer: a deterministic analysis summary from the figures, for free."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Final

from market_ai.adapters.memory.offline_generator import OFFLINE_MODEL
from market_ai.domain.analysis import TREND_DAYS
from market_ai.domain.pacing import PacingStatus

if TYPE_CHECKING:
    from market_ai.domain.analysis import AnalysisReport, Trend
    from market_ai.domain.campaigns import Campaign
    from market_ai.domain.jobs import JobContext
    from market_ai.domain.pacing import Pacing

CENT: Final = Decimal("0.01")
UNDER_PACE: Final = Decimal(90)  # percent of the expected spend: below it, behind
OVER_PACE: Final = Decimal(110)  # above it, ahead (an even spread is 100)


def _money(currency: str, amount: Decimal | None) -> str:
    return f"{currency} {(amount or Decimal(0)).quantize(CENT)}"


def _activity(campaign: Campaign, report: AnalysisReport) -> str:
    totals, roas = report.summary.totals, report.summary.kpis.roas
    if report.start > report.end:
        return f"{campaign.name} has no figures yet: its flight starts on {report.start}."
    if totals.days == 0:
        return f"{campaign.name} has no figures recorded from {report.start} to {report.end}."
    money = _money(campaign.currency, totals.spend)
    earned = _money(campaign.currency, totals.revenue)
    tail = f", a ROAS of {roas.quantize(CENT)}." if roas is not None else "."
    return (
        f"{campaign.name} spent {money} and earned {earned} from {totals.conversions} "
        f"conversions over {totals.days} days with figures ({report.start} to {report.end})" + tail
    )


def _pace(currency: str, pacing: Pacing) -> str:
    budget = _money(currency, pacing.budget)
    if pacing.status is PacingStatus.UNKNOWN:
        return "Pacing cannot be judged without flight start and end dates."
    if pacing.status is PacingStatus.NOT_STARTED:
        daily = _money(currency, pacing.required_daily_spend)
        return f"Spread evenly over the flight, the {budget} budget is {daily} a day."
    if pacing.pacing_percent is None:
        return "With a zero budget there is no pace to judge."
    if pacing.status is PacingStatus.ENDED:
        return f"The flight has ended with {pacing.pacing_percent}% of its {budget} budget spent."
    expected = _money(currency, pacing.expected_spend)
    projected = _money(currency, pacing.projected_spend)
    return (
        f"It is pacing at {pacing.pacing_percent}% of the {expected} expected by now, "
        f"on course for {projected} of its {budget} budget."
    )


def _trend(trend: Trend) -> str | None:
    """The weekly change, saying how many days had figures when a week was not complete."""
    week = trend.week_over_week
    if week is None or week.spend.change_percent is None:
        return None
    roas = week.roas.change_percent
    roas_part = f" and ROAS by {roas:+}%" if roas is not None else ""
    coverage = (
        f" ({week.current_days} and {week.previous_days} of 7 days with figures)"
        if min(week.current_days, week.previous_days) < TREND_DAYS
        else ""
    )
    return (
        f"Over the last 7 days spend changed by {week.spend.change_percent:+}%{roas_part} "
        f"against the 7 days before{coverage}."
    )


def _pace_advice(currency: str, pacing: Pacing) -> str | None:
    percent, daily = pacing.pacing_percent, pacing.required_daily_spend
    if percent is None or daily is None:
        return None
    if percent < UNDER_PACE:
        return f"To use the budget by the end, raise daily spend toward {_money(currency, daily)}."
    if percent > OVER_PACE:
        return f"To stay within budget, bring daily spend down toward {_money(currency, daily)}."
    return None


def _roas_advice(report: AnalysisReport) -> str | None:
    week = report.trend.week_over_week
    change = week.roas.change_percent if week is not None else None
    if change is None or change >= 0:
        return None
    best = f" with the best day, {report.best_day.day}" if report.best_day else ""
    return f"ROAS is falling: compare the recent days{best}."


def _suggestion(currency: str, report: AnalysisReport) -> str | None:
    """Pace first (budget is what the owner set), then a falling ROAS, else stay the course."""
    pacing = report.pacing
    if pacing.status is PacingStatus.UNKNOWN:
        return "Give the campaign flight dates to see how its spend paces against the budget."
    if pacing.status is not PacingStatus.IN_FLIGHT:
        return None  # nothing to adjust before the start or after the end
    if pacing.pacing_percent is None:
        return "Set a budget to see how spend paces against it."
    return (
        _pace_advice(currency, pacing)
        or _roas_advice(report)
        or "Spend is on pace: keep the current course."
    )


def describe(campaign: Campaign, report: AnalysisReport) -> str:
    """At most four sentences: activity, pacing, the weekly trend and one suggestion."""
    sentences = [
        _activity(campaign, report),
        _pace(campaign.currency, report.pacing),
        _trend(report.trend),
        _suggestion(campaign.currency, report),
    ]
    return " ".join(s for s in sentences if s)


class OfflineSummaryWriter:
    """The embedded default without OPENAI_API_KEY: no call, no cost, model `offline`."""

    async def write(
        self,
        ctx: JobContext,  # noqa: ARG002 - nothing is reserved: nothing is spent
        campaign: Campaign,
        report: AnalysisReport,
    ) -> tuple[str, str]:
        """Describe the report from its own figures; the same figures give the same text."""
        return describe(campaign, report), OFFLINE_MODEL
