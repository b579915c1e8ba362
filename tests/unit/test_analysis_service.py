"""AnalysisService on memory adapters: request a job, run it (once per job id), read the latest."""

from __future__ import annotations

import logging
from datetime import date, timedelta
from decimal import Decimal
from uuid import UUID, uuid4

import pytest

from market_ai.domain.analysis import AnalysisReport
from market_ai.domain.analysis_service import SUMMARY_MAX, AnalysisService, SummaryWriter
from market_ai.domain.campaigns import Campaign
from market_ai.domain.content_ports import GenerationTimeout
from market_ai.domain.errors import BudgetExceeded, Conflict, NotFound
from market_ai.domain.job_registry import ANALYZE_CAMPAIGN
from market_ai.domain.jobs import JobContext, PermanentJobError
from tests.service_rig import ServiceRig, context, row

MAR1 = date(2026, 3, 1)


@pytest.fixture
def rig() -> ServiceRig:
    return ServiceRig()


def service(rig: ServiceRig, writer: SummaryWriter | None = None) -> AnalysisService:
    return AnalysisService(rig.uow, rig.clock, rig.jobs, writer)


async def flighted(rig: ServiceRig) -> UUID:
    campaign = await rig.campaign(
        budget=Decimal("3000.00"), starts_on=MAR1, ends_on=date(2026, 3, 30)
    )
    await rig.metrics(campaign.id, [row(MAR1 + timedelta(days=n)) for n in range(10)])
    return campaign.id


async def test_request_enqueues_an_analysis_job_for_the_owner(rig: ServiceRig) -> None:
    campaign_id = await flighted(rig)
    job = await service(rig).request("alice", campaign_id)
    assert (job.type, job.owner_id) == (ANALYZE_CAMPAIGN, "alice")
    assert job.payload == {"campaign_id": str(campaign_id)}
    assert job.id in rig.store.jobs


async def test_another_users_campaign_is_not_found_and_enqueues_nothing(rig: ServiceRig) -> None:
    campaign_id = await flighted(rig)
    with pytest.raises(NotFound):
        await service(rig).request("mallory", campaign_id)
    with pytest.raises(NotFound):
        await service(rig).latest("mallory", campaign_id)
    assert rig.store.jobs == {}


async def test_an_idempotency_key_returns_the_first_job(rig: ServiceRig) -> None:
    campaign_id = await flighted(rig)
    first = await service(rig).request("alice", campaign_id, idempotency_key="k1")
    again = await service(rig).request("alice", campaign_id, idempotency_key="k1")
    assert again.id == first.id
    assert len(rig.store.jobs) == 1
    other = await rig.campaign()
    with pytest.raises(Conflict):  # the same key for another campaign is another request
        await service(rig).request("alice", other.id, idempotency_key="k1")


async def test_run_stores_the_analysis_once_however_often_the_job_is_delivered(
    rig: ServiceRig,
) -> None:
    campaign_id = await flighted(rig)
    analyses = service(rig)
    job = await analyses.request("alice", campaign_id)
    first = await analyses.run(context(job))
    rig.clock.at += timedelta(hours=1)  # a later redelivery must not make a second one
    second = await analyses.run(context(job, attempt=2))
    assert first == second
    assert list(rig.store.analyses) == [job.id]
    assert first == {
        "campaign_id": str(campaign_id),
        "as_of": "2026-03-10",
        "pacing_status": "in_flight",
        "pacing_percent": "10.00",  # 100 spent of an expected 1000
        "summary": None,
        "summary_model": None,
    }
    latest = await analyses.latest("alice", campaign_id)
    assert latest.job_id == job.id
    assert latest.figures["totals"]["spend"] == "100.00"
    assert latest.figures["pacing"]["required_daily_spend"] == "145.00"  # 2900 / 20
    assert latest.summary is None


async def test_latest_is_the_newest_analysis(rig: ServiceRig) -> None:
    campaign_id = await flighted(rig)
    analyses = service(rig)
    with pytest.raises(NotFound, match="no analysis"):
        await analyses.latest("alice", campaign_id)
    older = await analyses.request("alice", campaign_id)
    await analyses.run(context(older))
    rig.clock.at += timedelta(days=1)
    newer = await analyses.request("alice", campaign_id)
    await analyses.run(context(newer))
    latest = await analyses.latest("alice", campaign_id)
    assert (latest.job_id, latest.as_of) == (newer.id, date(2026, 3, 11))


class ScriptedWriter:
    """Answers `answer` (or raises it) and records what it was asked to summarise."""

    def __init__(self, answer: tuple[str, str] | Exception) -> None:
        self.answer = answer
        self.asked: list[tuple[JobContext, Campaign, AnalysisReport]] = []

    async def write(
        self, ctx: JobContext, campaign: Campaign, report: AnalysisReport
    ) -> tuple[str, str]:
        self.asked.append((ctx, campaign, report))
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


async def test_a_configured_writer_adds_a_summary_with_its_model(rig: ServiceRig) -> None:
    campaign_id = await flighted(rig)
    writer = ScriptedWriter(("  Spend is pacing well under budget.  ", "gpt-test"))
    analyses = service(rig, writer)
    job = await analyses.request("alice", campaign_id)
    result = await analyses.run(context(job, attempt=2))
    assert result is not None
    assert result["summary"] == "Spend is pacing well under budget."
    assert result["summary_model"] == "gpt-test"
    stored = rig.store.analyses[job.id]
    assert (stored.summary, stored.summary_model) == (
        "Spend is pacing well under budget.",
        "gpt-test",
    )
    [(ctx, campaign, report)] = writer.asked
    assert (ctx.owner_id, ctx.job_id, ctx.attempt) == ("alice", job.id, 2)
    assert campaign.id == campaign_id
    assert report.pacing.pacing_percent == Decimal("10.00")
    await analyses.run(context(job, attempt=3))  # stored already: not summarised again
    assert len(writer.asked) == 1


async def test_a_long_summary_is_cut_and_a_blank_one_left_out(rig: ServiceRig) -> None:
    campaign_id = await flighted(rig)
    for answer, expected in (("x" * (SUMMARY_MAX + 50), "x" * SUMMARY_MAX), (" \n ", None)):
        analyses = service(rig, ScriptedWriter((answer, "gpt-test")))
        job = await analyses.request("alice", campaign_id)
        await analyses.run(context(job))
        stored = rig.store.analyses[job.id]
        assert stored.summary == expected
        assert stored.summary_model == ("gpt-test" if expected else None)


@pytest.mark.parametrize(
    ("error", "traceback"),
    [
        (BudgetExceeded("per-user budget for 2026-03 cannot hold this"), False),
        (GenerationTimeout("no answer within the timeout"), False),
        (RuntimeError("a bug in the writer"), True),
    ],
)
async def test_a_failing_writer_never_fails_the_analysis(
    rig: ServiceRig, caplog: pytest.LogCaptureFixture, error: Exception, *, traceback: bool
) -> None:
    campaign_id = await flighted(rig)
    analyses = service(rig, ScriptedWriter(error))
    job = await analyses.request("alice", campaign_id)
    with caplog.at_level(logging.WARNING, logger="market_ai.domain.analysis_service"):
        result = await analyses.run(context(job))
    assert result is not None
    assert (result["summary"], result["summary_model"]) == (None, None)
    stored = rig.store.analyses[job.id]
    assert (stored.summary, stored.summary_model) == (None, None)
    assert stored.figures["totals"]["spend"] == "100.00"
    [record] = caplog.records
    assert record.getMessage().startswith(f"analysis.summary_skipped job={job.id} attempt=1")
    assert f"{type(error).__name__}: {error}" in record.getMessage()
    assert bool(record.exc_info) is traceback


async def test_a_deleted_campaign_or_a_bad_payload_is_permanent(rig: ServiceRig) -> None:
    campaign = await rig.campaign()
    analyses = service(rig)
    job = await analyses.request("alice", campaign.id)
    await rig.delete(campaign)
    with pytest.raises(PermanentJobError, match="campaign not found"):
        await analyses.run(context(job))
    bad = JobContext(uuid4(), 1, "alice", ANALYZE_CAMPAIGN, {"campaign_id": "nope"})
    with pytest.raises(PermanentJobError, match="campaign_id"):
        await analyses.run(bad)
    assert rig.store.analyses == {}


async def test_a_campaign_without_flight_or_figures_still_gets_an_analysis(
    rig: ServiceRig,
) -> None:
    campaign = await rig.campaign()
    analyses = service(rig)
    job = await analyses.request("alice", campaign.id)
    result = await analyses.run(context(job))
    assert result is not None
    assert result["pacing_status"] == "unknown"
    stored = rig.store.analyses[job.id]
    assert stored.figures["pacing"]["reason"] == "no flight dates"
    assert stored.figures["best_day"] is None
