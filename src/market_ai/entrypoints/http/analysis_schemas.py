"""Wire models of campaign analyses and email requests."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any
from uuid import UUID

import msgspec

from market_ai.domain.analysis import Analysis

Figures = Annotated[
    dict[str, Any],
    msgspec.Meta(description="money and ratios are decimal strings; null when undefined"),
]


class AnalysisOut(msgspec.Struct):
    """A stored analysis, with a short written summary when one could be written.

    `summary_model` names what wrote it (`offline` without OPENAI_API_KEY); both are null
    when the summary was refused by a budget or the model failed.
    """

    job_id: UUID
    campaign_id: UUID
    as_of: date
    created_at: datetime
    start: date
    end: date
    totals: Figures
    kpis: Figures
    pacing: Figures
    trend: Figures
    best_day: Figures | None
    worst_day: Figures | None
    summary: str | None
    summary_model: str | None

    @classmethod
    def of(cls, analysis: Analysis) -> AnalysisOut:
        """Figures are served as stored: the document the job computed."""
        f = analysis.figures
        return cls(
            job_id=analysis.job_id,
            campaign_id=analysis.campaign_id,
            as_of=analysis.as_of,
            created_at=analysis.created_at,
            start=date.fromisoformat(f["start"]),
            end=date.fromisoformat(f["end"]),
            totals=f["totals"],
            kpis=f["kpis"],
            pacing=f["pacing"],
            trend=f["trend"],
            best_day=f["best_day"],
            worst_day=f["worst_day"],
            summary=analysis.summary,
            summary_model=analysis.summary_model,
        )


class EmailIn(msgspec.Struct, forbid_unknown_fields=True):
    """An email about a campaign: plain text `body`, or a generated variant's `content_id`.

    The variant must belong to this campaign (GET .../content lists them); its text is sent.
    Addresses, subject and body are checked by the domain, which names the field
    (`to[1]`, `content_id`) in a 422.
    """

    to: list[str]
    subject: str
    body: str | None = None
    content_id: UUID | None = None
