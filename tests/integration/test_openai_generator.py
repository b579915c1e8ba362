"""The real openai client against a loopback server speaking the Responses wire format."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from market_ai.adapters.memory.offline_generator import OFFLINE_MODEL
from market_ai.adapters.openai.generator import OpenAIContentGenerator, create_client
from market_ai.domain.content import ContentRequest
from market_ai.domain.content_ports import (
    EntryStatus,
    GenerationError,
    GenerationRejected,
    GenerationTimeout,
)
from market_ai.domain.jobs import PermanentJobError
from market_ai.settings import load_settings
from tests.content_rig import OWNER, make_rig, policy
from tests.openai_server import OpenAIServer, Reply

pytestmark = pytest.mark.integration
VECTOR_STORE = "vs_brand_docs"


@pytest.fixture
def server() -> Iterator[OpenAIServer]:
    running = OpenAIServer()
    running.start()
    yield running
    running.stop()


@pytest.fixture
async def generator(server: OpenAIServer) -> AsyncIterator[OpenAIContentGenerator]:
    made = OpenAIContentGenerator(create_client("sk-test", server.base_url, 0.5))
    yield made
    await made.aclose()


async def test_a_grounded_call_sends_its_bounds_and_stores_citations(
    server: OpenAIServer, generator: OpenAIContentGenerator
) -> None:
    server.default = Reply(
        text="Strollers, half price.",
        input_tokens=3_000,
        cached_tokens=1_000,
        output_tokens=300,
        reasoning_tokens=100,
        searches=2,
        cited=("file-a", "file-b"),
    )
    rig = make_rig(
        generator, spend=policy(vector_store_id=VECTOR_STORE, max_output_tokens=500, max_results=3)
    )
    job = await rig.service.request(OWNER, await rig.campaign(), ContentRequest.of(kind="email"))

    result = await rig.run(job)

    (sent,) = server.received
    assert sent["model"] == "gpt-4o-mini"
    assert sent["max_output_tokens"] == 500
    assert sent["max_tool_calls"] == 2
    assert sent["tools"] == [
        {"type": "file_search", "vector_store_ids": [VECTOR_STORE], "max_num_results": 3}
    ]
    assert sent["include"] == ["file_search_call.results"]
    assert "Spring sale" in sent["input"]
    (variant,) = await rig.store.for_job(job.id)
    assert variant.text == "Strollers, half price."
    assert variant.model == "gpt-4o-mini-2024-07-18"
    assert variant.cited_file_ids == ("file-a", "file-b")
    usage = (variant.input_tokens, variant.cached_tokens, variant.output_tokens)
    assert (*usage, variant.reasoning_tokens, variant.tool_calls) == (3_000, 1_000, 300, 100, 2)
    # 2000 x 0.15 + 1000 x 0.075 + 300 x 0.60 = 300 + 75 + 180, plus 2 x 2500 for the searches
    assert variant.cost_micros == 555 + 5_000
    assert result["cost_micros"] == 5_555


async def test_without_a_vector_store_no_tool_is_sent(
    server: OpenAIServer, generator: OpenAIContentGenerator
) -> None:
    rig = make_rig(generator)
    job = await rig.service.request(
        OWNER, await rig.campaign(), ContentRequest.of(kind="email", variants=2)
    )
    await rig.run(job)
    assert len(server.received) == 2  # one bounded call per variant
    assert all("tools" not in body and body["max_tool_calls"] == 2 for body in server.received)
    assert server.received[0]["instructions"] == server.received[1]["instructions"]


@pytest.mark.parametrize(
    ("reply", "error", "status", "counted"),
    [
        (Reply(status=429, retry_after="1"), GenerationError, EntryStatus.RELEASED, False),
        # Sent, and perhaps billed: each was released at 0 before, now counted in full.
        (Reply(status=500), GenerationError, EntryStatus.SETTLED, True),
        (Reply(status=502), GenerationError, EntryStatus.SETTLED, True),
        (Reply(fault="drop"), GenerationError, EntryStatus.SETTLED, True),
        (Reply(fault="truncate"), GenerationError, EntryStatus.SETTLED, True),
        (Reply(delay=1.5), GenerationTimeout, EntryStatus.SETTLED, True),
    ],
    ids=["429", "500", "502-gateway", "dropped-connection", "truncated-body", "timeout"],
)
async def test_a_failed_attempt_is_one_request_its_own_entry_then_a_new_attempt(  # noqa: PLR0913
    server: OpenAIServer,
    generator: OpenAIContentGenerator,
    *,
    reply: Reply,
    error: type[Exception],
    status: EntryStatus,
    counted: bool,
) -> None:
    server.script.append(reply)
    rig = make_rig(generator)
    job = await rig.service.request(OWNER, await rig.campaign(), ContentRequest.of(kind="email"))

    with pytest.raises(error):
        await rig.run(job, attempt=1)
    assert len(server.received) == 1  # the SDK did not retry behind the reservation
    await rig.run(job, attempt=2)

    assert len(server.received) == 2
    failed, succeeded = await rig.ledger.entries(job.id)
    assert (failed.attempt, failed.status) == (1, status)
    assert failed.actual_micros == (failed.reserved_micros if counted else 0)
    assert (succeeded.attempt, succeeded.status) == (2, EntryStatus.SETTLED)
    assert succeeded.actual_micros == 42  # 120 x 0.15 + 40 x 0.60 = 18 + 24
    figures = await rig.ledger.figures(OWNER, failed.period)
    assert figures.reserved_micros == 0


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (400, "provider refused the request (400)"),
        (401, "provider refused the key (401)"),
        (403, "provider refused access (403)"),
    ],
)
async def test_a_rejected_request_is_permanent_released_and_classified(
    server: OpenAIServer, generator: OpenAIContentGenerator, status: int, message: str
) -> None:
    server.script.append(Reply(status=status, echo_key=True))
    rig = make_rig(generator)
    job = await rig.service.request(OWNER, await rig.campaign(), ContentRequest.of(kind="email"))
    with pytest.raises(PermanentJobError) as caught:
        await rig.run(job)
    assert str(caught.value) == message  # fixed text: not the provider's (it quoted the key)
    assert isinstance(caught.value.__cause__, GenerationRejected)
    assert caught.value.__cause__.__cause__ is None  # the SDK's error is not chained along
    (entry,) = await rig.ledger.entries(job.id)
    assert (entry.status, entry.actual_micros) == (EntryStatus.RELEASED, 0)


async def test_a_call_that_never_connected_is_released() -> None:
    closed = OpenAIServer()
    closed.start()
    base_url = closed.base_url
    closed.stop()  # nothing listens there now: the connection is refused, nothing is sent
    generator = OpenAIContentGenerator(create_client("sk-test", base_url, 0.5))
    rig = make_rig(generator)
    job = await rig.service.request(OWNER, await rig.campaign(), ContentRequest.of(kind="email"))
    with pytest.raises(GenerationError, match="no connection was made"):
        await rig.run(job)
    await generator.aclose()
    (entry,) = await rig.ledger.entries(job.id)
    assert (entry.status, entry.actual_micros) == (EntryStatus.RELEASED, 0)


async def test_an_operator_price_without_a_date_is_what_a_call_is_recorded_at(
    server: OpenAIServer, generator: OpenAIContentGenerator
) -> None:
    # The answer names the snapshot, as OpenAI's does; the operator priced the alias.
    server.default = Reply(input_tokens=1_200, cached_tokens=200, output_tokens=300)
    settings = load_settings(
        _env_file=None, model_prices='{"gpt-4o-mini": {"input": "0.30", "output": "1.20"}}'
    )
    rig = make_rig(generator, prices=settings.price_table())
    job = await rig.service.request(OWNER, await rig.campaign(), ContentRequest.of(kind="email"))

    result = await rig.run(job)

    # 1200 x 0.30 + 300 x 1.20 = 360 + 360; the built-in row gave 1000 x 0.15 + 200 x 0.075
    # + 300 x 0.60 = 345 (USD 0.000345 instead of 0.00072)
    assert result["cost_usd"] == "0.000720"
    (entry,) = await rig.ledger.entries(job.id)
    assert entry.actual_micros == 720


async def test_an_answer_out_of_output_budget_is_permanent_and_billed_once(
    server: OpenAIServer, generator: OpenAIContentGenerator
) -> None:
    server.default = Reply(
        text="",
        status_text="incomplete",
        incomplete_reason="max_output_tokens",
        model="o4-mini-2025-04-16",
        input_tokens=100,
        output_tokens=800,
        reasoning_tokens=800,
    )
    rig = make_rig(generator, spend=policy(model="o4-mini"))
    job = await rig.service.request(OWNER, await rig.campaign(), ContentRequest.of(kind="email"))

    with pytest.raises(PermanentJobError, match="whole output cap"):
        await rig.run(job)

    assert len(server.received) == 1  # dead at once: not five billed retries of the same
    (entry,) = await rig.ledger.entries(job.id)
    assert entry.actual_micros == 3_630  # 100 x 1.10 + 800 x 4.40: the thinking is billed


def test_the_offline_label_is_stable() -> None:
    assert OFFLINE_MODEL == "offline"
