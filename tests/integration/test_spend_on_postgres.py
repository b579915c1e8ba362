"""Spend rules on Postgres, through the real openai client on loopback.

MAX_BUDGET_PER_REQUEST bounds a whole request, its attempts summed from the ledger: five
attempts that each fail after the request was sent (each may have been billed, so each is
counted at its worst case). And what was paid for is stored, even text Postgres refuses.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from market_ai.adapters.openai.generator import OpenAIContentGenerator, create_client
from market_ai.adapters.sql.content import SqlContentStore
from market_ai.adapters.sql.engine import create_engine, migrate_database
from market_ai.adapters.sql.spend_ledger import SqlSpendLedger
from market_ai.adapters.sql.unit_of_work import SqlUnitOfWork
from market_ai.domain.content import ContentRequest, build_prompt
from market_ai.domain.content_ports import EntryStatus, GenerationError
from market_ai.domain.jobs import PermanentJobError
from tests.conftest import make_settings
from tests.content_rig import OWNER, make_rig, policy
from tests.openai_server import OpenAIServer, Reply

pytestmark = pytest.mark.integration
ATTEMPTS = 5


@pytest.fixture
def server() -> Iterator[OpenAIServer]:
    running = OpenAIServer()
    running.start()
    yield running
    running.stop()


@pytest.fixture
async def engine(fresh_postgres_url: str, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    made = create_engine(make_settings(tmp_path, database_url=fresh_postgres_url))
    await migrate_database(made)
    yield made
    await made.dispose()


@pytest.mark.parametrize(
    "reply",
    [Reply(status=502), Reply(fault="drop"), Reply(delay=1.0)],
    ids=["502-gateway", "dropped-connection", "timeout"],
)
async def test_failed_attempts_together_never_pass_the_request_ceiling(
    server: OpenAIServer, engine: AsyncEngine, reply: Reply
) -> None:
    server.default = reply
    generator = OpenAIContentGenerator(create_client("sk-test", server.base_url, 0.5))
    adapters = {
        "uow": lambda: SqlUnitOfWork(engine),
        "store": SqlContentStore(engine),
        "ledger": SqlSpendLedger(engine),
    }
    probe = make_rig(generator, **adapters)  # type: ignore[arg-type]
    campaign_id = await probe.campaign()
    campaign = await probe.campaigns.get(OWNER, campaign_id)
    request = ContentRequest.of(kind="email")
    worst = probe.guard.call_worst_case(build_prompt(campaign, request, 0))
    ceiling = worst * 5 // 2  # room for two attempts' worst cases, not three
    rig = make_rig(generator, spend=policy(request_limit_micros=ceiling), **adapters)  # type: ignore[arg-type]
    job = await rig.service.request(OWNER, campaign_id, request)

    outcomes = []
    for attempt in range(1, ATTEMPTS + 1):
        try:
            await rig.run(job, attempt=attempt)
        except PermanentJobError as error:
            outcomes.append(f"refused: {error}")
            break
        except GenerationError:
            outcomes.append("failed")
    await generator.aclose()

    entries = await rig.ledger.entries(job.id)
    counted = sum(e.actual_micros or 0 for e in entries)
    print(  # noqa: T201 - the measured figures, shown with -s
        f"attempts={outcomes} calls={len(server.received)} counted={counted} "
        f"ceiling={ceiling} worst_per_attempt={worst} (micro-USD)"
    )
    assert outcomes[:2] == ["failed", "failed"]
    assert len(outcomes) == 3
    assert "MAX_BUDGET_PER_REQUEST" in outcomes[2]
    assert len(server.received) == 2  # the refused attempt made no call
    assert all(e.status is EntryStatus.SETTLED for e in entries)
    assert counted == 2 * worst <= ceiling  # counted, in full, and within the ceiling


async def test_an_answer_with_nul_is_stored_once_not_paid_for_again(
    server: OpenAIServer, engine: AsyncEngine
) -> None:
    server.default = Reply(text="Half price\x00 on strollers.")
    generator = OpenAIContentGenerator(create_client("sk-test", server.base_url, 0.5))
    store = SqlContentStore(engine)
    rig = make_rig(
        generator,
        uow=lambda: SqlUnitOfWork(engine),
        store=store,
        ledger=SqlSpendLedger(engine),
    )
    job = await rig.service.request(OWNER, await rig.campaign(), ContentRequest.of(kind="email"))

    await rig.run(job)  # Postgres text refuses NUL: storing it failed, and was retried, paid

    await generator.aclose()
    (variant,) = await store.for_job(job.id)
    assert variant.text == "Half price on strollers."
    assert len(server.received) == 1
