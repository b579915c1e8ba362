"""Test rig for content generation: a ContentService on given adapters, and fake generators."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

from market_ai.adapters.memory.content import InMemoryContentStore, InMemorySpendLedger
from market_ai.adapters.memory.unit_of_work import InMemoryStore, InMemoryUnitOfWork
from market_ai.domain.campaign_service import CampaignDraft, CampaignService
from market_ai.domain.campaigns import Channel
from market_ai.domain.clock import SystemClock
from market_ai.domain.content import ContentKind, ContentVariant, Prompt
from market_ai.domain.content_ports import (
    CallLimits,
    ContentStore,
    Generation,
    GenerationError,
    SpendLedger,
)
from market_ai.domain.content_service import ContentService
from market_ai.domain.job_registry import default_registry
from market_ai.domain.job_service import JobService
from market_ai.domain.jobs import Job, JobContext
from market_ai.domain.ports import UnitOfWorkFactory
from market_ai.domain.pricing import BUILT_IN_PRICES, FILE_SEARCH_CALL_MICROS, PriceTable
from market_ai.domain.spend import Usage
from market_ai.domain.spend_guard import SpendGuard, SpendPolicy

OWNER = "user_ada"


@dataclass
class RecordingGenerator:
    """A priced generator: fixed usage per call; `failures` are raised first, one per call."""

    usage: Usage = field(default_factory=lambda: Usage(input_tokens=200, output_tokens=100))
    model: str = "gpt-4o-mini"
    failures: list[GenerationError] = field(default_factory=list)
    delay: float = 0.0
    calls: list[Prompt] = field(default_factory=list)

    @property
    def priced(self) -> bool:
        """Calls cost money."""
        return True

    async def generate(self, prompt: Prompt, limits: CallLimits) -> Generation:
        """Record the call, wait, fail if scripted, else answer."""
        self.calls.append(prompt)
        await asyncio.sleep(self.delay)
        if self.failures:
            raise self.failures.pop(0)
        return Generation(f"copy {prompt.variant_index} via {limits.model}", self.model, self.usage)


@dataclass
class Rig:
    """The service and the adapters behind it, for assertions on state."""

    service: ContentService
    campaigns: CampaignService
    jobs: JobService
    store: ContentStore
    ledger: SpendLedger
    guard: SpendGuard

    async def campaign(self, owner: str = OWNER, **fields: Any) -> UUID:
        """A campaign of `owner`'s."""
        draft = CampaignDraft(
            name=fields.pop("name", "Spring sale"), channel=Channel.EMAIL, **fields
        )
        return (await self.campaigns.create(owner, draft)).id

    async def run(self, job: Job, attempt: int = 1) -> Any:
        """Run the handler as the worker would for this attempt."""
        ctx = JobContext(job.id, attempt, job.owner_id, job.type, job.payload)
        return await self.service.run(ctx)


def variant(
    campaign_id: UUID, owner_id: str = OWNER, *, index: int = 0, **fields: Any
) -> ContentVariant:
    """A stored variant as a generate_content job would keep it (a new job unless given)."""
    values: dict[str, Any] = {
        "id": uuid4(),
        "job_id": uuid4(),
        "index": index,
        "campaign_id": campaign_id,
        "owner_id": owner_id,
        "kind": ContentKind.EMAIL,
        "tone": "friendly",
        "text": f"Copy {index} for the spring sale.",
        "model": "gpt-4o-mini-2024-07-18",
        "input_tokens": 200,
        "cached_tokens": 0,
        "output_tokens": 100,
        "reasoning_tokens": 0,
        "tool_calls": 0,
        "cost_micros": 90,
        "created_at": datetime(2026, 3, 10, 9, 0, tzinfo=UTC),
    }
    return ContentVariant(**(values | fields))


def policy(**overrides: Any) -> SpendPolicy:
    """gpt-4o-mini, 800 output tokens, 2 tool calls, USD 10 per request, no user budget."""
    values: dict[str, Any] = {
        "model": "gpt-4o-mini",
        "max_output_tokens": 800,
        "max_tool_calls": 2,
        "request_limit_micros": 10_000_000,
    }
    return SpendPolicy(**(values | overrides))


def make_rig(  # noqa: PLR0913 - every adapter can be swapped
    generator: Any,
    *,
    uow: UnitOfWorkFactory | None = None,
    store: ContentStore | None = None,
    ledger: SpendLedger | None = None,
    spend: SpendPolicy | None = None,
    on_enqueued: Callable[[], None] | None = None,
    prices: PriceTable | None = None,
) -> Rig:
    """A rig on memory adapters (and the built-in prices) unless others are given."""
    if uow is None:
        memory = InMemoryStore()
        uow = lambda: InMemoryUnitOfWork(memory)  # noqa: E731
    clock = SystemClock()
    jobs = JobService(uow, clock, default_registry())
    content_store = store or InMemoryContentStore()
    spend_ledger = ledger or InMemorySpendLedger()
    table = prices or PriceTable(list(BUILT_IN_PRICES), FILE_SEARCH_CALL_MICROS)
    guard = SpendGuard(spend_ledger, table, clock, spend or policy())
    service = ContentService(
        uow,
        clock,
        jobs=jobs,
        store=content_store,
        generator=generator,
        guard=guard,
        on_enqueued=on_enqueued,
    )
    return Rig(service, CampaignService(uow, clock), jobs, content_store, spend_ledger, guard)
