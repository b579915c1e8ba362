"""ModelSummaryWriter in AnalysisService: bounded, reserved per attempt, never failing the job."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest

from market_ai.adapters.memory.content import InMemorySpendLedger
from market_ai.domain.analysis import analyse
from market_ai.domain.analysis_service import AnalysisService
from market_ai.domain.analysis_summary import (
    SUMMARY_INSTRUCTIONS,
    SUMMARY_MAX_OUTPUT_TOKENS,
    ModelSummaryWriter,
    summary_policy,
    summary_prompt,
)
from market_ai.domain.content import Prompt
from market_ai.domain.content_ports import (
    BudgetFigures,
    CallLimits,
    EntryStatus,
    Generation,
    GenerationError,
    GenerationRejected,
    GenerationTimeout,
    LedgerEntry,
)
from market_ai.domain.errors import BudgetExceeded
from market_ai.domain.jobs import Job
from market_ai.domain.pricing import BUILT_IN_PRICES, FILE_SEARCH_CALL_MICROS, PriceTable
from market_ai.domain.spend import Usage
from market_ai.domain.spend_guard import SpendGuard, period_key
from tests.content_rig import RecordingGenerator, policy
from tests.service_rig import NOW, ServiceRig, context, row

MAR1 = date(2026, 3, 1)
PERIOD = period_key(NOW, "month")
CALL_COST = 90  # 200 input x USD 0.15/1M + 100 output x USD 0.60/1M, in micro-USD


@dataclass
class LimitsGenerator(RecordingGenerator):
    """A RecordingGenerator that also keeps the limits each call was sent with."""

    limits: list[CallLimits] = field(default_factory=list)

    async def generate(self, prompt: Prompt, limits: CallLimits) -> Generation:
        self.limits.append(limits)
        return await super().generate(prompt, limits)


@dataclass
class Rig:
    base: ServiceRig
    generator: LimitsGenerator
    ledger: InMemorySpendLedger
    guard: SpendGuard
    writer: ModelSummaryWriter
    analyses: AnalysisService
    campaign_id: UUID

    async def job(self) -> Job:
        return await self.analyses.request("alice", self.campaign_id)

    async def entries(self, job: Job) -> list[LedgerEntry]:
        return list(await self.ledger.entries(job.id))

    async def budget(self) -> BudgetFigures:
        return await self.ledger.figures("alice", PERIOD)

    async def worst_case(self) -> int:
        async with self.base.uow() as uow:
            campaign = await uow.campaigns.get("alice", self.campaign_id)
            assert campaign is not None
            rows = await uow.metrics.list_range(self.campaign_id, MAR1, NOW.date())
        prompt = summary_prompt(campaign, analyse(campaign, rows, NOW.date()))
        return self.guard.call_worst_case(prompt)


async def make_rig(generator: LimitsGenerator | None = None, **overrides: Any) -> Rig:
    base = ServiceRig()
    campaign = await base.campaign(
        budget=Decimal("3000.00"), starts_on=MAR1, ends_on=date(2026, 3, 30)
    )
    await base.metrics(campaign.id, [row(MAR1 + timedelta(days=n)) for n in range(10)])
    ledger = InMemorySpendLedger()
    prices = PriceTable(list(BUILT_IN_PRICES), FILE_SEARCH_CALL_MICROS)
    guard = SpendGuard(ledger, prices, base.clock, summary_policy(policy(**overrides)))
    made = generator or LimitsGenerator()
    writer = ModelSummaryWriter(made, guard)
    analyses = AnalysisService(base.uow, base.clock, base.jobs, writer)
    return Rig(base, made, ledger, guard, writer, analyses, campaign.id)


async def test_the_summary_is_stored_and_its_one_call_settled_at_its_cost() -> None:
    rig = await make_rig(vector_store_id="vs_brand", max_output_tokens=800)
    job = await rig.job()

    result = await rig.analyses.run(context(job, attempt=3))

    assert result is not None
    assert result["summary"] == "copy 0 via gpt-4o-mini"
    stored = rig.base.store.analyses[job.id]
    assert (stored.summary, stored.summary_model) == ("copy 0 via gpt-4o-mini", "gpt-4o-mini")
    [prompt] = rig.generator.calls
    assert prompt.instructions == SUMMARY_INSTRUCTIONS
    assert prompt.input.startswith("Campaign: Spring launch\nChannel: search\nCurrency: USD\n")
    assert '"pacing_percent": "10.00"' in prompt.input
    [limits] = rig.generator.limits
    assert limits.max_output_tokens == SUMMARY_MAX_OUTPUT_TOKENS  # not the content's 800
    assert limits.vector_store_id is None  # the figures are the only source
    [entry] = await rig.entries(job)
    assert (entry.attempt, entry.status) == (3, EntryStatus.SETTLED)
    assert (entry.reserved_micros, entry.actual_micros) == (await rig.worst_case(), CALL_COST)
    assert await rig.budget() == BudgetFigures(spent_micros=CALL_COST, reserved_micros=0)


async def test_each_attempt_reserves_for_itself() -> None:
    rig = await make_rig()
    job = await rig.job()
    async with rig.base.uow() as uow:
        campaign = await uow.campaigns.get("alice", rig.campaign_id)
    assert campaign is not None
    report = analyse(campaign, [], NOW.date())
    for attempt in (1, 2):
        await rig.writer.write(context(job, attempt), campaign, report)
    entries = await rig.entries(job)
    assert [(e.attempt, e.status, e.actual_micros) for e in entries] == [
        (1, EntryStatus.SETTLED, CALL_COST),
        (2, EntryStatus.SETTLED, CALL_COST),
    ]


@pytest.mark.parametrize(
    ("failure", "status", "counted"),
    [
        (GenerationError("model provider busy (503)"), EntryStatus.RELEASED, "nothing"),
        (GenerationRejected("HTTP 400: bad request"), EntryStatus.RELEASED, "nothing"),
        (GenerationTimeout("no answer within the timeout"), EntryStatus.SETTLED, "worst"),
        (
            GenerationError("the response (incomplete) has no text", usage=Usage(200, 0, 400)),
            EntryStatus.SETTLED,
            "usage",
        ),
    ],
)
async def test_a_failed_call_leaves_the_summary_out_and_its_spend_recorded(
    caplog: pytest.LogCaptureFixture,
    failure: GenerationError,
    status: EntryStatus,
    counted: str,
) -> None:
    rig = await make_rig(LimitsGenerator(failures=[failure]))
    job = await rig.job()

    with caplog.at_level(logging.WARNING, logger="market_ai.domain.analysis_service"):
        result = await rig.analyses.run(context(job))

    assert result is not None
    assert result["pacing_status"] == "in_flight"
    assert rig.base.store.analyses[job.id].summary is None
    expected = {"nothing": 0, "worst": await rig.worst_case(), "usage": 30 + 240}[counted]
    [entry] = await rig.entries(job)
    assert (entry.status, entry.actual_micros) == (status, expected)
    assert await rig.budget() == BudgetFigures(spent_micros=expected, reserved_micros=0)
    assert str(failure) in caplog.text


async def test_a_hung_call_is_cut_at_the_call_timeout_and_counted_at_its_worst_case() -> None:
    rig = await make_rig(LimitsGenerator(delay=30), call_timeout_seconds=0.05)
    job = await rig.job()

    async with asyncio.timeout(5):
        await rig.analyses.run(context(job))

    assert rig.base.store.analyses[job.id].summary is None
    [entry] = await rig.entries(job)
    assert (entry.status, entry.actual_micros) == (EntryStatus.SETTLED, await rig.worst_case())
    assert (await rig.budget()).reserved_micros == 0


async def test_a_cancelled_call_leaves_no_reservation_behind() -> None:
    rig = await make_rig(LimitsGenerator(delay=30))
    job = await rig.job()
    running = asyncio.create_task(rig.analyses.run(context(job)))
    while not rig.generator.calls:
        await asyncio.sleep(0)

    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running

    [entry] = await rig.entries(job)
    assert (entry.status, entry.actual_micros) == (EntryStatus.SETTLED, await rig.worst_case())
    assert (await rig.budget()).reserved_micros == 0
    assert rig.base.store.analyses == {}  # the job is retried, not stored half done


@pytest.mark.parametrize(
    ("limits", "refusal"),
    [
        ({"user_limit_micros": 10}, "per-user budget for 2026-03"),
        ({"request_limit_micros": 10}, "exceeds MAX_BUDGET_PER_REQUEST USD 0.000010"),
    ],
)
async def test_over_a_budget_nothing_is_called_or_held(
    caplog: pytest.LogCaptureFixture, limits: dict[str, int], refusal: str
) -> None:
    rig = await make_rig(None, **limits)
    job = await rig.job()

    with caplog.at_level(logging.WARNING, logger="market_ai.domain.analysis_service"):
        result = await rig.analyses.run(context(job))

    assert result is not None
    assert rig.base.store.analyses[job.id].summary is None
    assert rig.generator.calls == []
    assert await rig.entries(job) == []
    assert await rig.budget() == BudgetFigures()
    assert "reason=BudgetExceeded: " in caplog.text
    assert refusal in caplog.text


async def test_an_unpriced_generator_is_called_without_a_reservation() -> None:
    class Free(LimitsGenerator):
        @property
        def priced(self) -> bool:
            return False

    rig = await make_rig(Free())
    job = await rig.job()
    await rig.analyses.run(context(job))
    assert rig.base.store.analyses[job.id].summary == "copy 0 via gpt-4o-mini"
    assert await rig.entries(job) == []


def test_the_summary_policy_caps_output_and_drops_file_search() -> None:
    narrowed = summary_policy(policy(max_output_tokens=800, vector_store_id="vs_brand"))
    assert (narrowed.max_output_tokens, narrowed.vector_store_id) == (400, None)
    assert (narrowed.model, narrowed.request_limit_micros) == ("gpt-4o-mini", 10_000_000)
    assert summary_policy(policy(max_output_tokens=100)).max_output_tokens == 100


@pytest.mark.parametrize("overrides", [{"max_output_tokens": 800}, {"vector_store_id": "vs"}])
def test_the_writer_refuses_a_guard_not_narrowed_for_summaries(overrides: dict[str, Any]) -> None:
    prices = PriceTable(list(BUILT_IN_PRICES), FILE_SEARCH_CALL_MICROS)
    unbounded = policy(**({"max_output_tokens": 300} | overrides))
    guard = SpendGuard(InMemorySpendLedger(), prices, ServiceRig().clock, unbounded)
    with pytest.raises(ValueError, match="summary_policy"):
        ModelSummaryWriter(LimitsGenerator(), guard)


@pytest.mark.parametrize(
    ("model", "cap"),
    [("gpt-4o-mini", 400), ("o4-mini", 4_000), ("gpt-5-mini", 4_000), ("gpt-5-chat-latest", 400)],
)
def test_reasoning_models_get_a_summary_cap_with_room_to_think(model: str, cap: int) -> None:
    # At 400 tokens a reasoning model spends them all thinking and answers nothing.
    assert summary_policy(policy(model=model, max_output_tokens=800)).max_output_tokens == cap


async def test_the_request_ceiling_bounds_every_summary_attempt_together() -> None:
    generator = LimitsGenerator(failures=[GenerationTimeout("slow")] * 5)
    rig = await make_rig(generator)
    job = await rig.job()
    async with rig.base.uow() as uow:
        campaign = await uow.campaigns.get("alice", rig.campaign_id)
    assert campaign is not None
    report = analyse(campaign, [], NOW.date())
    worst = rig.guard.call_worst_case(summary_prompt(campaign, report))
    rig.guard.policy = summary_policy(policy(request_limit_micros=worst * 5 // 2))

    for attempt in (1, 2):
        with pytest.raises(GenerationTimeout):
            await rig.writer.write(context(job, attempt=attempt), campaign, report)
    with pytest.raises(BudgetExceeded, match="MAX_BUDGET_PER_REQUEST"):
        await rig.writer.write(context(job, attempt=3), campaign, report)

    assert len(generator.calls) == 2  # the third attempt made no call
    assert sum(e.actual_micros or 0 for e in await rig.entries(job)) == 2 * worst
