"""Campaign analysis use cases: ask for one (a job), run it (the handler), read the latest."""

from __future__ import annotations

import logging
from typing import Any, Final, Protocol
from uuid import UUID

from market_ai.domain.analysis import Analysis, AnalysisReport, analyse, analysis_window, document
from market_ai.domain.campaigns import Campaign
from market_ai.domain.content_ports import GenerationError
from market_ai.domain.errors import BudgetExceeded, NotFound
from market_ai.domain.job_registry import ANALYZE_CAMPAIGN, JobResult
from market_ai.domain.job_service import JobService
from market_ai.domain.jobs import Job, JobContext, PermanentJobError
from market_ai.domain.ports import Clock, UnitOfWorkFactory
from market_ai.domain.read_cache import ReadCache

log = logging.getLogger(__name__)

SUMMARY_MAX: Final = 2_000  # a short paragraph for a dashboard card, not an essay


class SummaryWriter(Protocol):
    """Writes a short summary of a computed analysis; raises when it cannot.

    It gets the job context so that a budget-aware writer reserves per job attempt (and a
    redelivery that finds the analysis stored never calls it again).
    """

    async def write(
        self, ctx: JobContext, campaign: Campaign, report: AnalysisReport
    ) -> tuple[str, str]:
        """(text, model): the summary and what wrote it (`offline` when nothing was called)."""
        ...


class AnalysisService:
    """Analyses of a user's campaign; another user's campaign reads as NotFound.

    The analysis runs as a job: `request` stages it in the same unit of work that checked
    ownership, `run` is the job handler, idempotent by job id.
    """

    def __init__(
        self,
        unit_of_work: UnitOfWorkFactory,
        clock: Clock,
        jobs: JobService,
        summary_writer: SummaryWriter | None = None,
        reads: ReadCache | None = None,
    ) -> None:
        self._uow = unit_of_work
        self._clock = clock
        self._jobs = jobs
        self._summary_writer = summary_writer
        self._reads = reads

    async def request(
        self, owner_id: str, campaign_id: UUID, *, idempotency_key: str | None = None
    ) -> Job:
        """Enqueue an analysis; the same key (same user) returns the job it started before."""
        payload = {"campaign_id": str(campaign_id)}
        async with self._uow() as uow:
            if await uow.campaigns.get(owner_id, campaign_id) is None:
                raise NotFound("campaign not found")
            job = await self._jobs.enqueue_request(
                uow, owner_id, ANALYZE_CAMPAIGN, payload, idempotency_key=idempotency_key
            )
            await uow.commit()
        self._jobs.notify()
        return job

    async def latest(self, owner_id: str, campaign_id: UUID) -> Analysis:
        """The campaign's most recent analysis; NotFound when none was made yet."""
        if self._reads is None:
            return await self._latest(owner_id, campaign_id)
        return await self._reads.read(
            campaign_id,
            f"analysis:{owner_id}",
            Analysis,
            lambda: self._latest(owner_id, campaign_id),
        )

    async def _latest(self, owner_id: str, campaign_id: UUID) -> Analysis:
        async with self._uow() as uow:
            if await uow.campaigns.get(owner_id, campaign_id) is None:
                raise NotFound("campaign not found")
            analysis = await uow.analyses.latest(campaign_id)
        if analysis is None:
            raise NotFound("no analysis of this campaign yet: POST one first")
        return analysis

    async def run(self, ctx: JobContext) -> JobResult:
        """The `analyze_campaign` handler: compute, summarise if possible, store once by job id.

        A redelivered job that already stored its analysis returns it without computing
        again. Two attempts racing past the check both compute, but the store keeps the first
        insert and the second returns it: one analysis per job either way.
        """
        try:
            campaign_id = UUID(str(ctx.payload["campaign_id"]))
        except (KeyError, ValueError) as error:
            raise PermanentJobError("payload needs a campaign_id") from error
        async with self._uow() as uow:
            stored = await uow.analyses.get(ctx.job_id)
            if stored is not None:
                return _result(stored)
            campaign = await uow.campaigns.get(ctx.owner_id, campaign_id)
            if campaign is None:
                raise PermanentJobError("campaign not found (deleted since the request?)")
            as_of = self._clock.today()
            start, end = analysis_window(campaign, as_of)
            rows = await uow.metrics.list_range(campaign_id, start, end) if start <= end else []
        report = analyse(campaign, rows, as_of)
        summary, model = await self._summary(ctx, campaign, report)
        analysis = Analysis(
            job_id=ctx.job_id,
            campaign_id=campaign_id,
            owner_id=ctx.owner_id,
            as_of=as_of,
            created_at=self._clock.now(),
            figures=document(report),
            summary=summary,
            summary_model=model,
        )
        async with self._uow() as uow:
            if await uow.campaigns.get(ctx.owner_id, campaign_id) is None:
                raise PermanentJobError("campaign not found (deleted during the analysis)")
            stored = await uow.analyses.add(analysis)
            await uow.commit()
        if self._reads is not None:  # the worker's write, seen by every API instance
            await self._reads.invalidate(campaign_id)
        return _result(stored)

    async def _summary(
        self, ctx: JobContext, campaign: Campaign, report: AnalysisReport
    ) -> tuple[str | None, str | None]:
        """A written summary when a writer is configured; its failure never fails the job."""
        if self._summary_writer is None:
            return None, None
        try:
            text, model = await self._summary_writer.write(ctx, campaign, report)
        except Exception as error:  # whatever the writer did, the figures stand
            expected = isinstance(error, BudgetExceeded | GenerationError)
            log.warning(
                "analysis.summary_skipped job=%s attempt=%d reason=%s",
                ctx.job_id,
                ctx.attempt,
                f"{type(error).__name__}: {error}",
                exc_info=not expected,  # a refusal or an outage needs no traceback; a bug does
            )
            return None, None
        text = text.replace("\x00", "").strip()  # NUL cannot be stored; the call is paid
        if not text:
            log.warning("analysis.summary_skipped job=%s reason=empty", ctx.job_id)
            return None, None
        return text[:SUMMARY_MAX], model


def _result(analysis: Analysis) -> dict[str, Any]:
    """What the job row keeps: enough to find the analysis, not the whole of it."""
    pacing = analysis.figures.get("pacing", {})
    return {
        "campaign_id": str(analysis.campaign_id),
        "as_of": analysis.as_of.isoformat(),
        "pacing_status": pacing.get("status"),
        "pacing_percent": pacing.get("pacing_percent"),
        "summary": analysis.summary,  # null when skipped (the log says why)
        "summary_model": analysis.summary_model,
    }
