"""Content use cases: ask for copy (a job), write it (the handler), list what was written."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid4

from market_ai.domain.campaign_service import Page, check_page
from market_ai.domain.campaigns import Campaign
from market_ai.domain.content import ContentRequest, ContentVariant, Prompt, build_prompt
from market_ai.domain.content_ports import (
    ContentGenerator,
    ContentStore,
    Generation,
    GenerationError,
    LedgerEntry,
)
from market_ai.domain.errors import BudgetExceeded, InvalidInput, NotFound
from market_ai.domain.job_registry import GENERATE_CONTENT, JobResult
from market_ai.domain.job_service import JobService
from market_ai.domain.jobs import Job, JobContext, PermanentJobError
from market_ai.domain.ports import Clock, UnitOfWorkFactory
from market_ai.domain.spend import micros_to_usd
from market_ai.domain.spend_guard import SpendGuard


@dataclass(frozen=True, slots=True)
class _Work:
    """One attempt's job, campaign and request: what every variant of it shares."""

    ctx: JobContext
    campaign: Campaign
    request: ContentRequest


class ContentService:
    """Copy for a user's campaign; another user's campaign reads as NotFound.

    One model call per variant: each is bounded by max_output_tokens on its own, its usage
    prices that variant exactly, and a variant stored before a failure is not paid for
    again on retry. One reservation per attempt holds the worst case of all its calls.
    """

    def __init__(  # noqa: PLR0913 - the ports and policies the use case is made of
        self,
        unit_of_work: UnitOfWorkFactory,
        clock: Clock,
        *,
        jobs: JobService,
        store: ContentStore,
        generator: ContentGenerator,
        guard: SpendGuard,
        on_enqueued: Callable[[], None] | None = None,
    ) -> None:
        self._uow = unit_of_work
        self._clock = clock
        self._jobs = jobs
        self._store = store
        self._generator = generator
        self._guard = guard
        self._on_enqueued = on_enqueued

    async def request(
        self,
        owner_id: str,
        campaign_id: UUID,
        request: ContentRequest,
        *,
        idempotency_key: str | None = None,
    ) -> Job:
        """Enqueue generation; refused (BudgetExceeded) now if it could not fit anyway.

        The same Idempotency-Key (same user) returns the job it started before.
        """
        payload = request.to_payload(campaign_id)
        asked_at = self._clock.now()
        async with self._uow() as uow:
            campaign = await uow.campaigns.get(owner_id, campaign_id)
            if campaign is None:
                raise NotFound("campaign not found")
            job = await self._jobs.enqueue_request(
                uow, owner_id, GENERATE_CONTENT, payload, idempotency_key=idempotency_key
            )
            if job.created_at >= asked_at:  # a new job, not the one a reused key found
                await self._precheck(owner_id, campaign, request)
            await uow.commit()
        if self._on_enqueued is not None:
            self._on_enqueued()
        return job

    async def list(
        self, owner_id: str, campaign_id: UUID, *, page: int = 1, per_page: int = 20
    ) -> Page[ContentVariant]:
        """The campaign's variants, newest first."""
        check_page(page, per_page)
        async with self._uow() as uow:
            if await uow.campaigns.get(owner_id, campaign_id) is None:
                raise NotFound("campaign not found")
        items, total = await self._store.list(
            owner_id, campaign_id, offset=(page - 1) * per_page, limit=per_page
        )
        return Page(items=items, total=total, page=page, per_page=per_page)

    async def run(self, ctx: JobContext) -> JobResult:
        """The `generate_content` handler; idempotent by (job id, variant index)."""
        try:
            request = ContentRequest.from_payload(dict(ctx.payload))
            campaign_id = UUID(str(ctx.payload.get("campaign_id")))
        except (InvalidInput, ValueError) as error:
            raise PermanentJobError(f"bad content payload: {error}") from error
        async with self._uow() as uow:
            campaign = await uow.campaigns.get(ctx.owner_id, campaign_id)
        if campaign is None:
            raise PermanentJobError("campaign not found (deleted since the request?)")
        done = {v.index for v in await self._store.for_job(ctx.job_id)}
        missing = [i for i in range(request.variants) if i not in done]
        if missing:
            prompts = [build_prompt(campaign, request, i) for i in missing]
            try:
                await self._generate(_Work(ctx, campaign, request), prompts)
            except BudgetExceeded as error:
                raise PermanentJobError(error.message) from error
        return await self._result(ctx.job_id)

    async def _precheck(self, owner_id: str, campaign: Campaign, request: ContentRequest) -> None:
        if not self._generator.priced:
            return
        prompts = [build_prompt(campaign, request, i) for i in range(request.variants)]
        worst = sum(self._guard.call_worst_case(p) for p in prompts)
        self._guard.check_request(worst)
        await self._guard.check_user(owner_id, worst)

    async def _generate(self, work: _Work, prompts: Sequence[Prompt]) -> None:
        if not self._generator.priced:
            for prompt in prompts:
                generation = await self._call(prompt)
                await self._keep(work, prompt, generation, 0)
            return
        per_call = [self._guard.call_worst_case(p) for p in prompts]
        ctx = work.ctx
        await self._guard.check_attempt(ctx.job_id, sum(per_call))
        entry = await self._guard.reserve(
            ctx.owner_id, ctx.job_id, ctx.attempt, sum(per_call), len(prompts)
        )
        await self._spend_within(entry, work, list(zip(prompts, per_call, strict=True)))

    async def _spend_within(
        self, entry: LedgerEntry, work: _Work, calls: Sequence[tuple[Prompt, int]]
    ) -> None:
        """Make the calls; whatever happens, settle what was spent or release the hold.

        A call in flight when we stop (timeout, cancellation) may still be billed: it is
        counted at its worst case, never at zero.
        """
        spent, billed, in_flight = 0, False, 0
        try:
            for prompt, worst in calls:
                in_flight = worst
                generation = await self._call(prompt)
                in_flight = 0
                cost = self._guard.cost(generation)
                spent, billed = spent + cost, True
                await self._keep(work, prompt, generation, cost)
        except GenerationError as error:
            if not error.spend_unknown:
                in_flight = 0
            if error.usage is not None:
                failed = Generation("", self._guard.policy.model, error.usage)
                spent, billed = spent + self._guard.cost(failed), True
            if not error.retryable:
                raise PermanentJobError(str(error)) from error
            raise
        finally:
            total = spent + in_flight
            await asyncio.shield(self._guard.close(entry, total, billed=billed or total > 0))

    async def _call(self, prompt: Prompt) -> Generation:
        return await self._generator.generate(prompt, self._guard.policy.limits)

    async def _keep(self, work: _Work, prompt: Prompt, generation: Generation, cost: int) -> None:
        ctx, request, usage = work.ctx, work.request, generation.usage
        await self._store.add(
            ContentVariant(
                id=uuid4(),
                job_id=ctx.job_id,
                index=prompt.variant_index,
                campaign_id=work.campaign.id,
                owner_id=ctx.owner_id,
                kind=request.kind,
                tone=request.tone,
                text=generation.text.replace("\x00", ""),  # storable: paid for already
                model=generation.model,
                input_tokens=usage.input_tokens,
                cached_tokens=usage.cached_tokens,
                output_tokens=usage.output_tokens,
                reasoning_tokens=usage.reasoning_tokens,
                tool_calls=usage.tool_calls,
                cost_micros=cost,
                created_at=self._clock.now(),
                cited_file_ids=generation.cited_file_ids,
            )
        )

    async def _result(self, job_id: UUID) -> dict[str, Any]:
        variants: Sequence[ContentVariant] = await self._store.for_job(job_id)
        spent = await self._guard.job_spend(job_id)
        return {
            "cost_micros": spent,
            "cost_usd": str(micros_to_usd(spent)),
            "models": sorted({v.model for v in variants}),
            "variants": [
                {"id": str(v.id), "index": v.index, "cost_micros": v.cost_micros} for v in variants
            ],
        }
