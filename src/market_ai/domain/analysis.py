"""Campaign analysis: totals, KPIs, pacing, trend and best/worst days, computed purely."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Final
from uuid import UUID

from market_ai.domain.campaigns import Campaign
from market_ai.domain.flight import flight_window
from market_ai.domain.metrics import DailyMetrics, MetricsSummary, summarise
from market_ai.domain.pacing import PERCENT_QUANTUM, Pacing, pace

TREND_DAYS: Final = 7


@dataclass(frozen=True, slots=True)
class Change:
    """One figure now and before; `change_percent` is None when `previous` is zero or None."""

    current: Decimal | int | None
    previous: Decimal | int | None
    change_percent: Decimal | None


@dataclass(frozen=True, slots=True)
class PeriodChange:
    """Spend, conversions and ROAS of a period against the period just before it."""

    current_start: date
    current_days: int  # days with figures in the current period (missing days are not zeros)
    previous_days: int
    spend: Change
    conversions: Change
    roas: Change


@dataclass(frozen=True, slots=True)
class Trend:
    """Day over day (the last day with figures vs the calendar day before) and week over week.

    Day over day answers "what changed yesterday"; a single day is noisy, so the last 7
    calendar days against the 7 before them give the steadier direction. Both end on the
    last day of the window.
    """

    day_over_day: PeriodChange | None
    week_over_week: PeriodChange | None


@dataclass(frozen=True, slots=True)
class DayFigures:
    """One day picked out as best or worst."""

    day: date
    spend: Decimal
    revenue: Decimal
    conversions: int
    roas: Decimal


@dataclass(frozen=True, slots=True)
class AnalysisReport:
    """Everything computed from a campaign and its daily figures over [start, end]."""

    start: date
    end: date
    summary: MetricsSummary
    pacing: Pacing
    trend: Trend
    best_day: DayFigures | None
    worst_day: DayFigures | None


@dataclass(frozen=True, slots=True)
class Analysis:
    """A stored analysis; `job_id` is its key, so a redelivered job finds it, not a twin."""

    job_id: UUID
    campaign_id: UUID
    owner_id: str
    as_of: date
    created_at: datetime
    figures: Mapping[str, Any]  # AnalysisReport as JSON (see `document`)
    summary: str | None = None
    summary_model: str | None = None


def analysis_window(campaign: Campaign, as_of: date) -> tuple[date, date]:
    """The campaign's flight up to `as_of` (flight_window); empty while it has not begun."""
    return flight_window(campaign.starts_on, campaign.ends_on, as_of)


def _percent_change(
    current: Decimal | int | None, previous: Decimal | int | None
) -> Decimal | None:
    if current is None or previous is None or previous == 0:
        return None
    change = (Decimal(current) - Decimal(previous)) / Decimal(previous) * 100
    return change.quantize(PERCENT_QUANTUM)


def _change(current: Decimal | int | None, previous: Decimal | int | None) -> Change:
    return Change(current, previous, _percent_change(current, previous))


def _period_change(
    rows: Sequence[DailyMetrics], current_start: date, end: date, days: int
) -> PeriodChange:
    previous_start = current_start - timedelta(days=days)
    now = [r for r in rows if current_start <= r.day <= end]
    before = [r for r in rows if previous_start <= r.day < current_start]
    cur, prev = summarise(now), summarise(before)
    return PeriodChange(
        current_start=current_start,
        current_days=len(now),
        previous_days=len(before),
        spend=_change(cur.totals.spend, prev.totals.spend),
        conversions=_change(cur.totals.conversions, prev.totals.conversions),
        roas=_change(cur.kpis.roas, prev.kpis.roas),
    )


def trend(rows: Sequence[DailyMetrics], end: date) -> Trend:
    """Day over day needs the last day and the day before it to have figures; weekly, any."""
    last = max((r for r in rows if r.day <= end), key=lambda r: r.day, default=None)
    days = {r.day for r in rows}
    day_over_day = None
    if last is not None and last.day - timedelta(days=1) in days:
        day_over_day = _period_change(rows, last.day, last.day, 1)
    start = end - timedelta(days=TREND_DAYS - 1)
    week = _period_change(rows, start, end, TREND_DAYS) if rows else None
    return Trend(day_over_day=day_over_day, week_over_week=week)


def best_and_worst(rows: Sequence[DailyMetrics]) -> tuple[DayFigures | None, DayFigures | None]:
    """Rank days by ROAS, then conversions; equal days go to the earlier date.

    Days without spend have no ROAS and are not ranked; with one ranked day it is both.
    """
    ranked = [
        DayFigures(r.day, r.spend, r.revenue, r.conversions, roas)
        for r in rows
        if (roas := summarise([r]).kpis.roas) is not None
    ]
    if not ranked:
        return None, None
    best = min(ranked, key=lambda d: (-d.roas, -d.conversions, d.day))
    worst = min(ranked, key=lambda d: (d.roas, d.conversions, d.day))
    return best, worst


def analyse(campaign: Campaign, rows: Sequence[DailyMetrics], as_of: date) -> AnalysisReport:
    """Compute the report over the rows inside the analysis window (others are ignored)."""
    start, end = analysis_window(campaign, as_of)
    inside = sorted((r for r in rows if start <= r.day <= end), key=lambda r: r.day)
    summary = summarise(inside)
    best, worst = best_and_worst(inside)
    return AnalysisReport(
        start=start,
        end=end,
        summary=summary,
        pacing=pace(
            campaign.budget, summary.totals.spend, campaign.starts_on, campaign.ends_on, as_of
        ),
        trend=trend(inside, end),
        best_day=best,
        worst_day=worst,
    )


def _json_fields(items: list[tuple[str, Any]]) -> dict[str, Any]:
    """Money and dates as strings: exact on the wire, never a float."""
    return {k: str(v) if isinstance(v, Decimal | date) else v for k, v in items}


def document(report: AnalysisReport) -> dict[str, Any]:
    """The report as JSON-ready data: stored as is and served as is."""
    data = asdict(report, dict_factory=_json_fields)
    data["totals"] = data["summary"]["totals"]
    data["kpis"] = data.pop("summary")["kpis"]
    return data
