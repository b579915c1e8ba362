"""Written analysis summaries by the content generator: one bounded, budgeted call per attempt."""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import replace
from typing import Final

from market_ai.domain.analysis import AnalysisReport, document
from market_ai.domain.campaigns import Campaign
from market_ai.domain.content import Prompt
from market_ai.domain.content_ports import (
    ContentGenerator,
    Generation,
    GenerationError,
    GenerationTimeout,
)
from market_ai.domain.jobs import JobContext
from market_ai.domain.spend_guard import SpendGuard, SpendPolicy

# Four sentences need about 120 tokens; the cap leaves room and keeps the worst case small.
SUMMARY_MAX_OUTPUT_TOKENS: Final = 400
# Reasoning models bill their thinking as output before the first word of the answer: at
# 400 tokens they often return nothing at all, so they get a cap with room to think.
REASONING_SUMMARY_MAX_OUTPUT_TOKENS: Final = 4_000
_REASONING: Final = re.compile(r"^(o\d|gpt-5)(?!.*-chat)")  # o1, o3, o4-mini, gpt-5*
SUMMARY_INSTRUCTIONS: Final = (
    "You are a marketing analyst. Write a short plain-text summary (at most 4 sentences) of "
    "this campaign's performance for its owner: how spend paces against budget, the trend, "
    "and one suggestion. Use only the figures given (JSON, money in the campaign's currency, "
    "null where a figure is undefined); never invent numbers. Answer with the summary only."
)


def summary_output_cap(model: str, content_cap: int) -> int:
    """A summary's max_output_tokens for `model`: short, unless the model reasons first."""
    if _REASONING.match(model):
        return REASONING_SUMMARY_MAX_OUTPUT_TOKENS
    return min(content_cap, SUMMARY_MAX_OUTPUT_TOKENS)


def summary_policy(policy: SpendPolicy) -> SpendPolicy:
    """The content policy narrowed for a summary: a per-model output cap and no file_search.

    The figures are all a summary may use, so no document is searched and no tool call is
    paid for; model, limits and budgets stay those of content generation.
    """
    return replace(
        policy,
        max_output_tokens=summary_output_cap(policy.model, policy.max_output_tokens),
        vector_store_id=None,
    )


def summary_prompt(campaign: Campaign, report: AnalysisReport) -> Prompt:
    """The figures as sorted JSON after the campaign's name, channel and currency."""
    text = (
        f"Campaign: {campaign.name}\nChannel: {campaign.channel.value}\n"
        f"Currency: {campaign.currency}\nFigures (JSON):\n"
        + json.dumps(document(report), sort_keys=True)
    )
    return Prompt(SUMMARY_INSTRUCTIONS, text)


class ModelSummaryWriter:
    """Summaries held to the rules content generation follows.

    A priced generator's call is estimated first (MAX_BUDGET_PER_REQUEST refuses it before
    it is made), its worst case reserved against the user's budget for this job attempt,
    then settled to the actual usage; a call that failed unbilled releases the hold, and
    one whose outcome is unknown (a timeout, a cancellation) is counted at its worst case.
    Every refusal or failure is raised: the analysis leaves the summary out.
    """

    def __init__(self, generator: ContentGenerator, guard: SpendGuard) -> None:
        policy = guard.policy
        if (
            policy.max_output_tokens > summary_output_cap(policy.model, policy.max_output_tokens)
            or policy.vector_store_id is not None
        ):
            msg = "the summary guard's policy must be summary_policy(...): short, no file_search"
            raise ValueError(msg)
        self._generator = generator
        self._guard = guard

    async def write(
        self, ctx: JobContext, campaign: Campaign, report: AnalysisReport
    ) -> tuple[str, str]:
        """(text, model) of one call; BudgetExceeded or GenerationError when there is none."""
        prompt = summary_prompt(campaign, report)
        if not self._generator.priced:
            generation = await self._call(prompt)
            return generation.text, generation.model
        worst = self._guard.call_worst_case(prompt)
        await self._guard.check_attempt(ctx.job_id, worst)
        entry = await self._guard.reserve(ctx.owner_id, ctx.job_id, ctx.attempt, worst, 1)
        spent, in_flight, billed = 0, worst, False
        try:
            generation = await self._call(prompt)
            spent, in_flight, billed = self._guard.cost(generation), 0, True
        except GenerationError as error:
            if not error.spend_unknown:
                in_flight = 0
            if error.usage is not None:
                failed = Generation("", self._guard.policy.model, error.usage)
                spent, billed = self._guard.cost(failed), True
            raise
        finally:
            total = spent + in_flight
            await asyncio.shield(self._guard.close(entry, total, billed=billed or total > 0))
        return generation.text, generation.model

    async def _call(self, prompt: Prompt) -> Generation:
        """One call, bounded in time as well: the job's lease should not wait on a hung call."""
        policy = self._guard.policy
        try:
            async with asyncio.timeout(policy.call_timeout_seconds):
                return await self._generator.generate(prompt, policy.limits)
        except TimeoutError as error:
            message = f"no summary within {policy.call_timeout_seconds:g} s"
            raise GenerationTimeout(message) from error
