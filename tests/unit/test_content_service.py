"""Content jobs: offline copy, priced calls settled to usage, idempotent redelivery, refusals."""

from __future__ import annotations

import pytest

from market_ai.adapters.memory.offline_generator import OfflineContentGenerator
from market_ai.domain.content import ContentRequest, Prompt
from market_ai.domain.content_ports import (
    CallLimits,
    EntryStatus,
    GenerationError,
    GenerationRejected,
    GenerationTimeout,
)
from market_ai.domain.errors import BudgetExceeded, Conflict, InvalidInput, NotFound
from market_ai.domain.job_registry import GENERATE_CONTENT
from market_ai.domain.jobs import PermanentJobError
from market_ai.domain.spend import Usage
from tests.content_rig import OWNER, RecordingGenerator, make_rig, policy


async def test_offline_copy_is_labelled_free_and_built_from_the_campaign() -> None:
    rig = make_rig(OfflineContentGenerator())
    campaign = await rig.campaign(audience="busy parents", brief="Half price on all strollers.")
    request = ContentRequest.of(kind="email", tone="warm", variants=3)
    job = await rig.service.request(OWNER, campaign, request)

    result = await rig.run(job)

    variants = await rig.store.for_job(job.id)
    assert [v.index for v in variants] == [0, 1, 2]
    assert {v.model for v in variants} == {"offline"}
    assert {v.cost_micros for v in variants} == {0}
    assert all("Spring sale" in v.text and "busy parents" in v.text for v in variants)
    assert "Half price on all strollers" in variants[0].text
    assert len({v.text for v in variants}) == 3  # distinct, yet deterministic
    assert result["cost_micros"] == 0
    assert result["models"] == ["offline"]


async def test_a_priced_job_records_each_variant_cost_and_settles_the_reservation() -> None:
    generator = RecordingGenerator(
        usage=Usage(input_tokens=1000, cached_tokens=400, output_tokens=500)
    )
    rig = make_rig(generator)
    campaign = await rig.campaign()
    job = await rig.service.request(OWNER, campaign, ContentRequest.of(kind="ad_copy", variants=2))

    result = await rig.run(job)

    # gpt-4o-mini: 600 x 0.15 + 400 x 0.075 + 500 x 0.60 = 90 + 30 + 300 = 420 micro-USD
    assert [v.cost_micros for v in await rig.store.for_job(job.id)] == [420, 420]
    assert result["cost_micros"] == 840
    assert result["cost_usd"] == "0.000840"
    (entry,) = await rig.ledger.entries(job.id)
    assert entry.status is EntryStatus.SETTLED
    assert entry.actual_micros == 840
    assert entry.reserved_micros > 840
    figures = await rig.ledger.figures(OWNER, entry.period)
    assert (figures.spent_micros, figures.reserved_micros) == (840, 0)


async def test_a_redelivered_job_writes_nothing_twice_and_calls_nothing() -> None:
    generator = RecordingGenerator()
    rig = make_rig(generator)
    job = await rig.service.request(
        OWNER, await rig.campaign(), ContentRequest.of(kind="email", variants=2)
    )
    first = await rig.run(job, attempt=1)

    again = await rig.run(job, attempt=2)

    assert len(generator.calls) == 2
    assert len(await rig.store.for_job(job.id)) == 2
    assert again == first
    assert len(await rig.ledger.entries(job.id)) == 1  # no second reservation either


async def test_a_retry_after_a_partial_failure_pays_only_for_the_missing_variants() -> None:
    generator = RecordingGenerator()
    rig = make_rig(generator)
    job = await rig.service.request(
        OWNER, await rig.campaign(), ContentRequest.of(kind="email", variants=3)
    )
    generator.failures = []
    original = generator.generate
    count = 0

    async def fail_second(prompt, limits):  # type: ignore[no-untyped-def]  # noqa: ANN001, ANN202
        nonlocal count
        count += 1
        if count == 2:
            raise GenerationError("provider busy (500)")
        return await original(prompt, limits)

    generator.generate = fail_second  # type: ignore[method-assign]
    with pytest.raises(GenerationError):
        await rig.run(job, attempt=1)
    await rig.run(job, attempt=2)

    assert count == 4  # 1 ok + 1 failed, then the 2 missing ones
    first, second = await rig.ledger.entries(job.id)
    assert (first.attempt, first.status, first.actual_micros) == (1, EntryStatus.SETTLED, 90)
    assert (second.attempt, second.actual_micros) == (2, 180)
    assert len(await rig.store.for_job(job.id)) == 3


async def test_a_refused_call_releases_and_a_timeout_counts_at_the_worst_case() -> None:
    generator = RecordingGenerator(failures=[GenerationError("429"), GenerationTimeout("slow")])
    rig = make_rig(generator)
    job = await rig.service.request(OWNER, await rig.campaign(), ContentRequest.of(kind="email"))

    for attempt in (1, 2):
        with pytest.raises(GenerationError):
            await rig.run(job, attempt=attempt)
    await rig.run(job, attempt=3)

    refused, timed_out, settled = await rig.ledger.entries(job.id)
    assert (refused.status, refused.actual_micros) == (EntryStatus.RELEASED, 0)
    assert timed_out.status is EntryStatus.SETTLED
    assert timed_out.actual_micros == timed_out.reserved_micros  # may have been billed
    assert settled.actual_micros == 90
    figures = await rig.ledger.figures(OWNER, settled.period)
    assert figures.reserved_micros == 0
    assert figures.spent_micros == timed_out.reserved_micros + 90


async def test_over_the_per_request_limit_is_refused_before_any_call() -> None:
    generator = RecordingGenerator()
    rig = make_rig(generator, spend=policy(request_limit_micros=100))
    campaign = await rig.campaign()

    with pytest.raises(BudgetExceeded, match="MAX_BUDGET_PER_REQUEST"):
        await rig.service.request(OWNER, campaign, ContentRequest.of(kind="email"))

    assert await rig.jobs.list_dead() == []
    # A job enqueued without the check (an older release, a tightened limit) dies saying why.
    payload = ContentRequest.of(kind="email").to_payload(campaign)
    job = await rig.jobs.submit(OWNER, GENERATE_CONTENT, payload)
    with pytest.raises(PermanentJobError, match="MAX_BUDGET_PER_REQUEST"):
        await rig.run(job)
    assert generator.calls == []
    assert await rig.ledger.entries(job.id) == []


async def test_an_exhausted_user_budget_refuses_with_a_permanent_error() -> None:
    generator = RecordingGenerator()
    rig = make_rig(generator, spend=policy(user_limit_micros=1))
    payload = ContentRequest.of(kind="email").to_payload(await rig.campaign())
    job = await rig.jobs.submit(OWNER, GENERATE_CONTENT, payload)
    with pytest.raises(PermanentJobError, match="per-user budget"):
        await rig.run(job)
    assert generator.calls == []
    with pytest.raises(BudgetExceeded, match="per-user budget"):
        await rig.service.request(OWNER, await rig.campaign(), ContentRequest.of(kind="email"))


async def test_the_same_idempotency_key_returns_the_same_job() -> None:
    rig = make_rig(OfflineContentGenerator())
    campaign = await rig.campaign()
    request = ContentRequest.of(kind="email")
    first = await rig.service.request(OWNER, campaign, request, idempotency_key="k-1")
    again = await rig.service.request(OWNER, campaign, request, idempotency_key="k-1")
    other_user = await rig.service.request(
        "user_bob", await rig.campaign("user_bob"), request, idempotency_key="k-1"
    )
    assert again.id == first.id
    assert other_user.id != first.id
    with pytest.raises(Conflict):
        await rig.service.request(
            OWNER, campaign, ContentRequest.of(kind="ad_copy"), idempotency_key="k-1"
        )


async def test_another_users_campaign_reads_as_absent() -> None:
    rig = make_rig(OfflineContentGenerator())
    campaign = await rig.campaign()
    with pytest.raises(NotFound):
        await rig.service.request("user_eve", campaign, ContentRequest.of(kind="email"))
    with pytest.raises(NotFound):
        await rig.service.list("user_eve", campaign)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"kind": "poem"}, "kind"),
        ({"kind": "email", "variants": 6}, "variants"),
        ({"kind": "email", "variants": 0}, "variants"),
        ({"kind": "email", "tone": "  "}, "tone"),
        ({"kind": "email", "tone": "x" * 101}, "tone"),
        ({"kind": "email", "audience": "x" * 2001}, "audience"),
        ({"kind": "email", "brief": "x" * 2001}, "brief"),
        ({"kind": "email", "tone": "warm\u0000"}, "tone"),
        ({"kind": "email", "audience": "parents\x00"}, "audience"),
        ({"kind": "email", "brief": "line one\n\x1b[2J"}, "brief"),
    ],
)
def test_requests_are_checked_naming_the_field(fields: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        ContentRequest.of(**fields)  # type: ignore[arg-type]
    assert caught.value.field == field


async def test_the_offline_generator_refuses_a_prompt_that_is_not_copy() -> None:
    prompt = Prompt("Summarise these figures.", '{"spend": "10.00"}')  # no campaign subject
    with pytest.raises(GenerationRejected, match="campaign subject"):
        await OfflineContentGenerator().generate(prompt, CallLimits("offline", 100, 0))


async def test_a_job_whose_inputs_cannot_be_stored_is_dead_before_any_paid_call() -> None:
    generator = RecordingGenerator()
    rig = make_rig(generator)
    payload = ContentRequest.of(kind="email").to_payload(await rig.campaign())
    job = await rig.jobs.submit(OWNER, GENERATE_CONTENT, payload | {"tone": "warm\u0000"})

    with pytest.raises(PermanentJobError, match="tone: must not contain NUL"):
        await rig.run(job)

    assert generator.calls == []  # was: five paid calls, each failing to store the tone
    assert await rig.ledger.entries(job.id) == []


def test_a_brief_keeps_its_line_breaks_and_tabs() -> None:
    request = ContentRequest.of(kind="email", brief="First:\tthis\r\nThen: that")
    assert request.brief == "First:\tthis\r\nThen: that"
