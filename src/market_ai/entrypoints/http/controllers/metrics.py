"""Campaign metrics routes: translate HTTP to MetricsService calls and back."""

from __future__ import annotations

import contextlib
import re
from datetime import date
from typing import Annotated, Final

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.exceptions import ValidationException
from litestar.params import JSONBody, QueryParameter

from market_ai.domain.metrics_service import MetricsService
from market_ai.entrypoints.http.auth import SignedIn
from market_ai.entrypoints.http.conditional import conditional_get
from market_ai.entrypoints.http.metrics_schemas import (
    MetricsBatchIn,
    MetricsRecordedOut,
    MetricsReportOut,
)
from market_ai.entrypoints.http.params import CampaignId
from market_ai.entrypoints.http.problem_docs import problem_responses

Metrics = NamedDependency[MetricsService]
_ISO_DATE: Final = re.compile(r"\d{4}-\d{2}-\d{2}")

# Taken as text and parsed here: Litestar would name a bad value by the Python parameter
# (`start`), not by the query name the client sent (`from`).
From = Annotated[
    str | None,
    QueryParameter(
        name="from",
        description=(
            "first day, YYYY-MM-DD, inclusive (default: the campaign's start date, or `to` - 29"
            " days; with `to` given, `to` - 29 days)"
        ),
    ),
]
To = Annotated[
    str | None,
    QueryParameter(
        name="to",
        description=(
            "last day, YYYY-MM-DD, inclusive (default: the campaign's end date if already past,"
            " else today, UTC)"
        ),
    ),
]


def _iso_date(name: str, value: str | None) -> date | None:
    """Parse a query date; a bad one is a 400 naming the parameter, like any bad query value."""
    if value is None:
        return None
    parsed = None
    if _ISO_DATE.fullmatch(value):
        with contextlib.suppress(ValueError):  # 2025-02-30 has the shape but is no date
            parsed = date.fromisoformat(value)
    if parsed is None:
        reason = "must be a date as YYYY-MM-DD"
        extra = [{"key": name, "message": reason, "source": "query"}]
        raise ValidationException(f"{name}: {reason}", extra=extra)
    return parsed


class MetricsController(Controller):
    """Daily figures of the signed-in user's campaign; another user's campaign reads as 404."""

    path = "/campaigns/{campaign_id:uuid}/metrics"
    tags = ["metrics"]  # noqa: RUF012 - Litestar reads this class attribute

    @post("/", status_code=200, responses=problem_responses(404, 413, 422))
    async def record_metrics(
        self,
        metrics: Metrics,
        request: SignedIn,
        campaign_id: CampaignId,
        data: JSONBody[MetricsBatchIn],
    ) -> MetricsRecordedOut:
        """Store the days, replacing days already stored.

        200, not 201: posting a batch again replaces the same days and answers the same,
        so there is no new resource to point a Location at.
        """
        report = await metrics.record(request.user, campaign_id, data.to_domain())
        return MetricsRecordedOut.of(report)

    @get("/", responses=problem_responses(404, 422), middleware=[conditional_get])
    async def get_metrics(
        self,
        metrics: Metrics,
        request: SignedIn,
        campaign_id: CampaignId,
        start: From = None,
        end: To = None,
    ) -> MetricsReportOut:
        """The days in [from, to], ordered by date, with totals and KPIs over the range.

        Without dates, the campaign's flight up to today, so a past campaign shows its days.
        """
        report = await metrics.report(
            request.user, campaign_id, _iso_date("from", start), _iso_date("to", end)
        )
        return MetricsReportOut.of(report)
