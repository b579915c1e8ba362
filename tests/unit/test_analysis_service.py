"""AnalysisService on memory adapters: request a job, run it (once per job id), read the latest."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from uuid import UUID, uuid4

import pytest

from market_ai.domain.analysis_service import AnalysisService
from market_ai.domain.errors import Conflict, NotFound
from market_ai.domain.job_registry import ANALYZE_CAMPAIGN
from market_ai.domain.jobs import JobContext, PermanentJobError
from tests.service_rig import ServiceRig, context, row

MAR1 = date(2026, 3, 1)


@pytest.fixture
def rig() -> ServiceRig:
    return ServiceRig()


def service(rig: ServiceRig, writer: object = None) -> AnalysisService:
    return AnalysisService(rig.uow, rig.clock, rig.jobs, writer)  # type: ignore[arg-type]


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
        "summary": False,
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


async def test_a_configured_writer_adds_a_summary_with_its_model(rig: ServiceRig) -> None:
    campaign_id = await flighted(rig)
    prompts: list[tuple[str, UUID, str]] = []

    async def writer(owner_id: str, job_id: UUID, prompt: str) -> tuple[str, str]:
        prompts.append((owner_id, job_id, prompt))
        return "  Spend is pacing well under budget.  ", "gpt-test"

    analyses = service(rig, writer)
    job = await analyses.request("alice", campaign_id)
    result = await analyses.run(context(job))
    assert result is not None
    assert result["summary"] is True
    stored = rig.store.analyses[job.id]
    assert (stored.summary, stored.summary_model) == (
        "Spend is pacing well under budget.",
        "gpt-test",
    )
    [(owner, job_id, prompt)] = prompts
    assert (owner, job_id) == ("alice", job.id)
    assert '"pacing_percent": "10.00"' in prompt


async def test_a_failing_writer_never_fails_the_analysis(rig: ServiceRig) -> None:
    campaign_id = await flighted(rig)

    async def writer(owner_id: str, job_id: UUID, prompt: str) -> tuple[str, str]:
        raise RuntimeError(f"budget exhausted for {owner_id} {job_id} {len(prompt)}")

    analyses = service(rig, writer)
    job = await analyses.request("alice", campaign_id)
    await analyses.run(context(job))
    assert rig.store.analyses[job.id].summary is None


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
