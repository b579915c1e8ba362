"""Analysis summaries through the container and the real openai client, on a loopback server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from market_ai.container import Container, build_container, stop
from market_ai.domain.analysis import Analysis
from market_ai.domain.analysis_summary import SUMMARY_INSTRUCTIONS, SUMMARY_MAX_OUTPUT_TOKENS
from market_ai.domain.campaign_service import CampaignDraft
from market_ai.domain.campaigns import Channel
from market_ai.domain.content_ports import BudgetFigures, EntryStatus, SpendLedger
from market_ai.domain.jobs import Job, JobContext
from market_ai.domain.spend_guard import period_key
from tests.conftest import make_settings
from tests.openai_server import OpenAIServer, Reply
from tests.service_rig import row

pytestmark = pytest.mark.integration
OWNER = "alice"
SUMMARY = "Spend is at a tenth of plan; raise daily spend to about USD 145 to use the budget."


@pytest.fixture
def server() -> Iterator[OpenAIServer]:
    running = OpenAIServer(default=Reply(text=SUMMARY, input_tokens=900, output_tokens=60))
    running.start()
    yield running
    running.stop()


@pytest.fixture
async def container(server: OpenAIServer, tmp_path: Path) -> AsyncIterator[Container]:
    settings = make_settings(
        tmp_path,
        database_url="memory://",
        openai_api_key="sk-test",
        openai_base_url=server.base_url,
        openai_timeout_seconds=1.0,
        openai_vector_store_id="vs_brand_docs",  # content searches it; summaries must not
        user_budget_usd=Decimal(1),
    )
    made = build_container(settings)
    yield made
    await stop(made)


async def _analysed(container: Container) -> tuple[Job, Analysis]:
    """An in-flight campaign with ten days of figures, analysed by the job handler."""
    today = datetime.now(UTC).date()
    draft = CampaignDraft(
        name="Spring launch",
        channel=Channel.SEARCH,
        budget=Decimal("3000.00"),
        starts_on=today - timedelta(days=9),
        ends_on=today + timedelta(days=20),
    )
    campaign = await container.campaign_service().create(OWNER, draft)
    rows = [row(today - timedelta(days=n)) for n in range(10)]
    await container.metrics_service().record(OWNER, campaign.id, rows)
    job = await container.analysis_service().request(OWNER, campaign.id)
    ctx = JobContext(job.id, 1, OWNER, job.type, job.payload)
    await container.analysis_service().run(ctx)
    return job, await container.analysis_service().latest(OWNER, campaign.id)


async def _budget(container: Container) -> BudgetFigures:
    ledger: SpendLedger = container.spend_ledger()
    return await ledger.figures(OWNER, period_key(datetime.now(UTC), "month"))


async def test_the_summary_is_written_by_one_bounded_call_and_paid_for(
    server: OpenAIServer, container: Container
) -> None:
    job, analysis = await _analysed(container)

    assert (analysis.summary, analysis.summary_model) == (SUMMARY, "gpt-4o-mini-2024-07-18")
    (sent,) = server.received
    assert sent["max_output_tokens"] == SUMMARY_MAX_OUTPUT_TOKENS
    assert sent["model"] == "gpt-4o-mini"
    assert sent["instructions"] == SUMMARY_INSTRUCTIONS
    assert "tools" not in sent
    assert sent["input"].startswith("Campaign: Spring launch\n")
    assert '"pacing_percent": "10.00"' in sent["input"]
    [entry] = await container.spend_ledger().entries(job.id)
    # 900 input x USD 0.15/1M + 60 output x USD 0.60/1M = 135 + 36 micro-USD
    assert (entry.attempt, entry.status, entry.actual_micros) == (1, EntryStatus.SETTLED, 171)
    assert await _budget(container) == BudgetFigures(spent_micros=171, reserved_micros=0)


@pytest.mark.parametrize(
    ("reply", "status", "spent"),
    [
        (Reply(status=500), EntryStatus.SETTLED, None),  # may have been billed: in full
        (Reply(fault="drop"), EntryStatus.SETTLED, None),
        (Reply(status=429), EntryStatus.RELEASED, 0),  # refused before any work
        (Reply(status=401), EntryStatus.RELEASED, 0),
        (Reply(delay=1.5), EntryStatus.SETTLED, None),  # a timeout counts at the worst case
    ],
)
async def test_a_failed_summary_call_leaves_the_analysis_stored_without_one(
    server: OpenAIServer,
    container: Container,
    reply: Reply,
    status: EntryStatus,
    spent: int | None,
) -> None:
    server.script.append(reply)
    job, analysis = await _analysed(container)

    assert (analysis.summary, analysis.summary_model) == (None, None)
    assert analysis.figures["totals"]["spend"] == "100.00"
    assert len(server.received) == 1  # no hidden retry
    [entry] = await container.spend_ledger().entries(job.id)
    assert entry.status is status
    assert entry.actual_micros == (entry.reserved_micros if spent is None else spent)
    assert (await _budget(container)).reserved_micros == 0
