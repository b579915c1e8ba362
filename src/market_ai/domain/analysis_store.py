"""The AnalysisRepository port: stored analyses, keyed by the job that computed them."""

from __future__ import annotations

from typing import Protocol
from uuid import UUID

from market_ai.domain.analysis import Analysis


class AnalysisRepository(Protocol):
    """Analyses inside one unit of work; callers check campaign ownership first."""

    async def add(self, analysis: Analysis) -> Analysis:
        """Insert; if one exists for the same job id already, return that one unchanged."""
        ...

    async def get(self, job_id: UUID) -> Analysis | None:
        """The analysis a job stored, or None."""
        ...

    async def latest(self, campaign_id: UUID) -> Analysis | None:
        """The campaign's most recent analysis (by creation time, then job id), or None."""
        ...
