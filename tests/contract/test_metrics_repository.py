"""MetricsRepository contract: the same assertions on memory, SQLite and Postgres."""

from __future__ import annotations

import contextlib
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

from market_ai.adapters.memory.metrics import InMemoryMetricsRepository
from market_ai.adapters.memory.unit_of_work import InMemoryStore
from market_ai.domain.campaigns import Campaign, Channel
from market_ai.domain.errors import NotFound
from market_ai.domain.metrics import COUNT_MAX, DailyMetrics
from market_ai.domain.ports import MetricsRepository, UnitOfWorkFactory

NOW = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)
JAN = date(2025, 1, 1)

# The fake must satisfy the port (checked by mypy).
_fake: MetricsRepository = InMemoryMetricsRepository(InMemoryStore())


def day(n: int, **values: Any) -> DailyMetrics:
    fields: dict[str, Any] = {
        "day": JAN + timedelta(days=n - 1),
        "impressions": 1000,
        "clicks": 10,
        "conversions": 1,
        "spend": Decimal("12.50"),
        "revenue": Decimal("40.00"),
    }
    fields.update(values)
    return DailyMetrics(**fields)


async def new_campaign(uow_factory: UnitOfWorkFactory, owner: str = "alice") -> UUID:
    campaign = Campaign(
        owner_id=owner, name="Launch", channel=Channel.SEARCH, created_at=NOW, updated_at=NOW
    )
    async with uow_factory() as uow:
        await uow.campaigns.add(campaign)
        await uow.commit()
    return campaign.id


async def store(uow_factory: UnitOfWorkFactory, campaign_id: UUID, *rows: DailyMetrics) -> None:
    async with uow_factory() as uow:
        await uow.metrics.upsert_many(campaign_id, rows, NOW)
        await uow.commit()


async def stored(
    uow_factory: UnitOfWorkFactory,
    campaign_id: UUID,
    start: date = date(2000, 1, 1),
    end: date = date(2100, 1, 1),
) -> list[DailyMetrics]:
    async with uow_factory() as uow:
        return list(await uow.metrics.list_range(campaign_id, start, end))


async def test_values_round_trip_exactly(uow_factory: UnitOfWorkFactory) -> None:
    campaign_id = await new_campaign(uow_factory)
    rows = [
        day(1),
        day(2, impressions=0, clicks=0, conversions=0, spend="0", revenue="0"),
        day(
            3,
            impressions=COUNT_MAX,
            clicks=COUNT_MAX,
            conversions=COUNT_MAX,
            spend="999999999999.999999",
            revenue="0.000001",
        ),
        day(4, spend="0.1", revenue="1234.5678"),
    ]
    await store(uow_factory, campaign_id, *rows)
    back = await stored(uow_factory, campaign_id)
    assert back == rows
    assert [(str(r.spend), str(r.revenue)) for r in back] == [
        ("12.50", "40.00"),
        ("0.00", "0.00"),
        ("999999999999.999999", "0.000001"),
        ("0.10", "1234.5678"),
    ]


async def test_days_come_back_in_date_order(uow_factory: UnitOfWorkFactory) -> None:
    campaign_id = await new_campaign(uow_factory)
    await store(uow_factory, campaign_id, day(3), day(1))
    await store(uow_factory, campaign_id, day(2))
    assert [r.day.day for r in await stored(uow_factory, campaign_id)] == [1, 2, 3]


async def test_a_stored_day_is_replaced(uow_factory: UnitOfWorkFactory) -> None:
    campaign_id = await new_campaign(uow_factory)
    await store(uow_factory, campaign_id, day(1), day(2))
    await store(uow_factory, campaign_id, day(2, clicks=99, spend="1.000001"), day(3))
    assert await stored(uow_factory, campaign_id) == [
        day(1),
        day(2, clicks=99, spend="1.000001"),
        day(3),
    ]


async def test_range_bounds_are_inclusive(uow_factory: UnitOfWorkFactory) -> None:
    campaign_id = await new_campaign(uow_factory)
    await store(uow_factory, campaign_id, *(day(n) for n in range(1, 6)))
    middle = await stored(uow_factory, campaign_id, date(2025, 1, 2), date(2025, 1, 4))
    assert [r.day.day for r in middle] == [2, 3, 4]
    one = await stored(uow_factory, campaign_id, date(2025, 1, 5), date(2025, 1, 5))
    assert [r.day.day for r in one] == [5]
    assert await stored(uow_factory, campaign_id, date(2025, 1, 6), date(2025, 2, 1)) == []


async def test_campaigns_do_not_share_days(uow_factory: UnitOfWorkFactory) -> None:
    first = await new_campaign(uow_factory)
    second = await new_campaign(uow_factory, owner="bob")
    await store(uow_factory, first, day(1))
    await store(uow_factory, second, day(1, clicks=1))
    assert await stored(uow_factory, first) == [day(1)]
    assert await stored(uow_factory, second) == [day(1, clicks=1)]


async def test_writes_are_visible_inside_their_unit_of_work(
    uow_factory: UnitOfWorkFactory,
) -> None:
    campaign_id = await new_campaign(uow_factory)
    await store(uow_factory, campaign_id, day(1))
    async with uow_factory() as uow:
        await uow.metrics.upsert_many(campaign_id, [day(1, clicks=5), day(2)], NOW)
        seen = await uow.metrics.list_range(campaign_id, JAN, date(2025, 1, 31))
        assert list(seen) == [day(1, clicks=5), day(2)]
        await uow.commit()


async def test_uncommitted_writes_leave_nothing(uow_factory: UnitOfWorkFactory) -> None:
    campaign_id = await new_campaign(uow_factory)
    await store(uow_factory, campaign_id, day(1))
    async with uow_factory() as uow:
        await uow.metrics.upsert_many(campaign_id, [day(1, clicks=0), day(2)], NOW)
    async with uow_factory() as uow:
        await uow.metrics.upsert_many(campaign_id, [day(3)], NOW)
        await uow.rollback()
    assert await stored(uow_factory, campaign_id) == [day(1)]


async def test_deleting_the_campaign_deletes_its_days(uow_factory: UnitOfWorkFactory) -> None:
    campaign_id = await new_campaign(uow_factory)
    kept = await new_campaign(uow_factory)
    await store(uow_factory, campaign_id, day(1), day(2))
    await store(uow_factory, kept, day(1))
    async with uow_factory() as uow:
        assert await uow.campaigns.delete("alice", campaign_id)
        await uow.commit()
    assert await stored(uow_factory, campaign_id) == []
    assert await stored(uow_factory, kept) == [day(1)]


async def test_days_of_a_missing_campaign_are_never_stored(
    uow_factory: UnitOfWorkFactory,
) -> None:
    """A campaign deleted between the ownership check and the write: no orphan rows.

    SQL refuses through the foreign key and says NotFound (never a raw database error);
    memory drops the rows at commit.
    """
    missing = uuid4()
    with contextlib.suppress(NotFound):
        await store(uow_factory, missing, day(1))
    assert await stored(uow_factory, missing) == []
