"""Per-recipient deliveries, the daily quota and suppressions: memory, SQLite and Postgres alike."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from uuid import UUID, uuid4

from market_ai.adapters.memory.email_ledger import (
    InMemoryEmailQuota,
    InMemoryEmailSuppressions,
    InMemoryRecipientDeliveryLog,
)
from market_ai.adapters.memory.unit_of_work import InMemoryStore
from market_ai.domain.errors import Conflict
from market_ai.domain.mail_ledger import (
    DeliveryStatus,
    EmailQuota,
    EmailSuppressions,
    RecipientDelivery,
    RecipientDeliveryLog,
)
from market_ai.domain.ports import UnitOfWorkFactory

NOW = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
DAY = date(2026, 3, 10)

# The fakes must satisfy the ports (checked by mypy).
_log: RecipientDeliveryLog = InMemoryRecipientDeliveryLog(InMemoryStore())
_quota: EmailQuota = InMemoryEmailQuota(InMemoryStore())
_suppressions: EmailSuppressions = InMemoryEmailSuppressions(InMemoryStore())


def row(
    job_id: UUID, address: str, status: DeliveryStatus = DeliveryStatus.PENDING
) -> RecipientDelivery:
    return RecipientDelivery(job_id, address, "alice", status, f"<{address}@x>", NOW)


async def test_plan_inserts_only_new_rows_and_counts_them(uow_factory: UnitOfWorkFactory) -> None:
    job, other = uuid4(), uuid4()
    async with uow_factory() as uow:
        assert await uow.email_recipients.plan([row(job, "a@x.com"), row(job, "b@x.com")]) == 2
        assert await uow.email_recipients.plan([row(other, "a@x.com")]) == 1
        await uow.commit()
    async with uow_factory() as uow:
        again = [row(job, "a@x.com", DeliveryStatus.SUPPRESSED), row(job, "c@x.com")]
        assert await uow.email_recipients.plan(again) == 1
        assert await uow.email_recipients.plan([]) == 0
        await uow.commit()
    async with uow_factory() as uow:
        rows = await uow.email_recipients.of_job(job)
    assert set(rows) == {"a@x.com", "b@x.com", "c@x.com"}
    assert rows["a@x.com"] == row(job, "a@x.com")  # the planned row was kept as it was


async def test_record_moves_a_row_on_but_never_away_from_sent(
    uow_factory: UnitOfWorkFactory,
) -> None:
    job = uuid4()
    later = NOW + timedelta(minutes=1)
    deferred = replace(
        row(job, "a@x.com", DeliveryStatus.DEFERRED), detail="SMTP (451)", updated_at=later
    )
    async with uow_factory() as uow:
        await uow.email_recipients.plan([row(job, "a@x.com")])
        await uow.commit()
    async with uow_factory() as uow:
        await uow.email_recipients.record(deferred)
        await uow.email_recipients.record(row(job, "new@x.com", DeliveryStatus.SENT))
        await uow.commit()
    async with uow_factory() as uow:
        rows = await uow.email_recipients.of_job(job)
        assert rows["a@x.com"] == deferred
        assert rows["new@x.com"].status is DeliveryStatus.SENT
        await uow.email_recipients.record(row(job, "a@x.com", DeliveryStatus.SENT))
        await uow.commit()
    async with uow_factory() as uow:
        await uow.email_recipients.record(row(job, "a@x.com", DeliveryStatus.DEFERRED))
        await uow.commit()
    async with uow_factory() as uow:
        assert (await uow.email_recipients.of_job(job))["a@x.com"].status is DeliveryStatus.SENT


async def test_uncommitted_rows_leave_no_trace(uow_factory: UnitOfWorkFactory) -> None:
    job = uuid4()
    async with uow_factory() as uow:
        await uow.email_recipients.plan([row(job, "a@x.com")])
        assert await uow.email_quota.reserve("alice", DAY, 3, 5) == 3
        await uow.email_suppressions.add("alice", "a@x.com", NOW)
    async with uow_factory() as uow:
        assert await uow.email_recipients.of_job(job) == {}
        assert await uow.email_quota.reserve("alice", DAY, 5, 5) == 5
        assert await uow.email_suppressions.among("alice", ["a@x.com"]) == set()


async def test_the_quota_adds_up_per_owner_and_day_and_refuses_past_the_limit(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        assert await uow.email_quota.reserve("alice", DAY, 3, 5) == 3
        assert await uow.email_quota.reserve("alice", DAY, 2, 5) == 5
        assert await uow.email_quota.reserve("alice", DAY, 1, 5) is None
        assert await uow.email_quota.reserve("bob", DAY, 5, 5) == 5
        assert await uow.email_quota.reserve("alice", DAY + timedelta(days=1), 4, 5) == 4
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.email_quota.reserve("alice", DAY, 1, 5) is None
        assert await uow.email_quota.reserve("alice", DAY, 1, 6) == 6  # a raised limit applies


async def test_concurrent_reservations_never_overshoot(uow_factory: UnitOfWorkFactory) -> None:
    """Ten requests of 3 race for a quota of 10: exactly three win, whatever the backend."""

    async def take() -> bool:
        try:
            async with uow_factory() as uow:
                total = await uow.email_quota.reserve("alice", DAY, 3, 10)
                await asyncio.sleep(0.01)  # hold the transaction open while the others arrive
                if total is None:
                    return False
                await uow.commit()
                return True
        except Conflict:
            return False

    wins = await asyncio.gather(*(take() for _ in range(10)))
    assert sum(wins) == 3
    async with uow_factory() as uow:
        assert await uow.email_quota.reserve("alice", DAY, 1, 10) == 10


async def test_suppressions_are_per_owner_and_ignore_case(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        assert await uow.email_suppressions.add("alice", "Ops@Example.com", NOW) is True
        assert await uow.email_suppressions.add("alice", "ops@example.com", NOW) is False
        await uow.commit()
    async with uow_factory() as uow:
        asked = ["OPS@example.com", "other@example.com"]
        assert await uow.email_suppressions.among("alice", asked) == {"OPS@example.com"}
        assert await uow.email_suppressions.among("bob", asked) == set()
        assert await uow.email_suppressions.among("alice", []) == set()
