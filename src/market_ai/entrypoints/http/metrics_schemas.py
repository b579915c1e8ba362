"""Wire models of campaign metrics: daily rows in, rows with totals and KPIs out."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated
from uuid import UUID

import msgspec

from market_ai.domain.errors import InvalidInput
from market_ai.domain.metrics import DailyMetrics, Kpis, MetricsSummary, Totals
from market_ai.domain.metrics_service import MetricsReport

# No bounds here: the domain checks them and names the row (`rows[3].clicks`) in a 422.
Count = Annotated[int, msgspec.Meta(description="whole number, >= 0", examples=[1000])]
MetricMoney = Annotated[
    Decimal,
    msgspec.Meta(description="decimal string or number, >= 0, <= 6 places", examples=["12.50"]),
]
Ratio = Annotated[
    Decimal | None,
    msgspec.Meta(description="decimal string; null when the denominator is zero"),
]


class MetricsRowIn(msgspec.Struct, forbid_unknown_fields=True):
    """One day of a campaign, as an ad platform exports it."""

    day: date = msgspec.field(name="date")
    impressions: Count
    clicks: Count
    conversions: Count
    spend: MetricMoney
    revenue: MetricMoney

    def to_domain(self) -> DailyMetrics:
        """Build the checked value object."""
        return DailyMetrics(
            day=self.day,
            impressions=self.impressions,
            clicks=self.clicks,
            conversions=self.conversions,
            spend=self.spend,
            revenue=self.revenue,
        )


class MetricsBatchIn(msgspec.Struct, forbid_unknown_fields=True):
    """Days to record; a day already stored is replaced, so a retried request is harmless."""

    rows: list[MetricsRowIn]

    def to_domain(self) -> list[DailyMetrics]:
        """Check every row, naming a bad one the way the client wrote it."""
        checked = []
        for index, row in enumerate(self.rows):
            try:
                checked.append(row.to_domain())
            except InvalidInput as error:
                raise InvalidInput(f"rows[{index}].{error.field}", error.reason) from None
        return checked


class TotalsOut(msgspec.Struct):
    """Exact sums; `days` counts the days that have figures."""

    days: int
    impressions: int
    clicks: int
    conversions: int
    spend: Decimal
    revenue: Decimal

    @classmethod
    def of(cls, totals: Totals) -> TotalsOut:
        """Project the domain totals."""
        return cls(
            days=totals.days,
            impressions=totals.impressions,
            clicks=totals.clicks,
            conversions=totals.conversions,
            spend=totals.spend,
            revenue=totals.revenue,
        )


class KpisOut(msgspec.Struct):
    """Rates are fractions (0.0125, not 1.25 %), so clients format them as they like."""

    ctr: Ratio
    cvr: Ratio
    cpc: Ratio
    cpa: Ratio
    cpm: Ratio
    roas: Ratio

    @classmethod
    def of(cls, kpis: Kpis) -> KpisOut:
        """Project the domain KPIs."""
        return cls(
            ctr=kpis.ctr, cvr=kpis.cvr, cpc=kpis.cpc, cpa=kpis.cpa, cpm=kpis.cpm, roas=kpis.roas
        )


class MetricsRowOut(msgspec.Struct):
    """One stored day with its own KPIs, so a chart never re-implements the definitions."""

    day: date = msgspec.field(name="date")
    impressions: int
    clicks: int
    conversions: int
    spend: Decimal
    revenue: Decimal
    kpis: KpisOut

    @classmethod
    def of(cls, row: DailyMetrics) -> MetricsRowOut:
        """Project one day."""
        return cls(
            day=row.day,
            impressions=row.impressions,
            clicks=row.clicks,
            conversions=row.conversions,
            spend=row.spend,
            revenue=row.revenue,
            kpis=KpisOut.of(Kpis.of(Totals.of([row]))),
        )


def _summary(summary: MetricsSummary) -> tuple[TotalsOut, KpisOut]:
    return TotalsOut.of(summary.totals), KpisOut.of(summary.kpis)


class MetricsReportOut(msgspec.Struct):
    """The days in [from, to] (the range actually used, defaults applied), with their sums."""

    campaign_id: UUID
    start: date = msgspec.field(name="from")
    end: date = msgspec.field(name="to")
    rows: list[MetricsRowOut]
    totals: TotalsOut
    kpis: KpisOut

    @classmethod
    def of(cls, report: MetricsReport) -> MetricsReportOut:
        """Project a report."""
        totals, kpis = _summary(report.summary)
        rows = [MetricsRowOut.of(row) for row in report.rows]
        return cls(
            campaign_id=report.campaign_id,
            start=report.start,
            end=report.end,
            rows=rows,
            totals=totals,
            kpis=kpis,
        )


class MetricsRecordedOut(msgspec.Struct):
    """What a batch stored: how many days, their span, and their totals and KPIs."""

    campaign_id: UUID
    stored: int
    start: date = msgspec.field(name="from")
    end: date = msgspec.field(name="to")
    totals: TotalsOut
    kpis: KpisOut

    @classmethod
    def of(cls, report: MetricsReport) -> MetricsRecordedOut:
        """Project a recorded batch."""
        totals, kpis = _summary(report.summary)
        return cls(
            campaign_id=report.campaign_id,
            stored=len(report.rows),
            start=report.start,
            end=report.end,
            totals=totals,
            kpis=kpis,
        )
