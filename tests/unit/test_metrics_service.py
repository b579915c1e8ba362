"""MetricsService use cases on the in-memory unit of work and a fixed clock."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest

from market_ai.adapters.memory.unit_of_work import InMemoryStore, InMemoryUnitOfWork
from market_ai.domain.campaign_service import CampaignDraft, CampaignService
from market_ai.domain.campaigns import Channel
from market_ai.domain.clock import FixedClock
from market_ai.domain.errors import InvalidInput, NotFound, Unavailable
from market_ai.domain.metrics import DailyMetrics, Kpis, Totals
from market_ai.domain.metrics_service import BATCH_MAX, RANGE_MAX_DAYS, MetricsService
from tests.fakes import FailingUnitOfWork

NOW = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)
JAN = date(2025, 1, 1)


def day(n: int, **values: Any) -> DailyMetrics:
    """Day `n` of January 2025 (n may run past 31), with round figures."""
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


@pytest.fixture
def store() -> InMemoryStore:
    return InMemoryStore()


@pytest.fixture
def service(store: InMemoryStore) -> MetricsService:
    return MetricsService(lambda: InMemoryUnitOfWork(store), FixedClock(NOW))


@pytest.fixture
async def campaign_id(store: InMemoryStore) -> UUID:
    campaigns = CampaignService(lambda: InMemoryUnitOfWork(store), FixedClock(NOW))
    campaign = await campaigns.create("alice", CampaignDraft(name="Launch", channel=Channel.SEARCH))
    return campaign.id


async def test_record_then_report_round_trips(service: MetricsService, campaign_id: UUID) -> None:
    recorded = await service.record("alice", campaign_id, [day(2), day(1)])
    assert (recorded.start, recorded.end) == (date(2025, 1, 1), date(2025, 1, 2))
    assert [r.day for r in recorded.rows] == [date(2025, 1, 1), date(2025, 1, 2)]
    assert recorded.summary.totals.spend == Decimal("25.00")
    report = await service.report("alice", campaign_id, JAN, date(2025, 1, 31))
    assert list(report.rows) == [day(1), day(2)]
    assert report.summary == recorded.summary
    assert report.summary.kpis.ctr == Decimal("0.01")


async def test_reposting_a_day_replaces_it(service: MetricsService, campaign_id: UUID) -> None:
    await service.record("alice", campaign_id, [day(1), day(2)])
    await service.record("alice", campaign_id, [day(2, clicks=20, spend="5")])
    report = await service.report("alice", campaign_id, JAN, date(2025, 1, 2))
    assert list(report.rows) == [day(1), day(2, clicks=20, spend="5")]
    assert report.summary.totals.clicks == 30
    assert report.summary.totals.spend == Decimal("17.50")


async def test_posting_the_same_batch_twice_changes_nothing(
    service: MetricsService, store: InMemoryStore, campaign_id: UUID
) -> None:
    batch = [day(n) for n in range(1, 8)]
    first = await service.record("alice", campaign_id, batch)
    after_first = dict(store.metrics[campaign_id])
    second = await service.record("alice", campaign_id, batch)
    assert second == first
    assert store.metrics[campaign_id] == after_first
    report = await service.report("alice", campaign_id, JAN, date(2025, 1, 7))
    assert report.summary.totals.days == 7
    assert report.summary.totals.spend == Decimal("87.50")


async def test_duplicate_date_refuses_the_whole_batch(
    service: MetricsService, store: InMemoryStore, campaign_id: UUID
) -> None:
    with pytest.raises(InvalidInput) as caught:
        await service.record("alice", campaign_id, [day(1), day(2), day(3), day(2, clicks=1)])
    assert caught.value.field == "rows[3].date"
    assert "rows[1]" in caught.value.reason
    assert store.metrics == {}


async def test_failed_commit_writes_nothing(store: InMemoryStore, campaign_id: UUID) -> None:
    service = MetricsService(lambda: FailingUnitOfWork(InMemoryUnitOfWork(store)), FixedClock(NOW))
    with pytest.raises(Unavailable):
        await service.record("alice", campaign_id, [day(1), day(2)])
    assert store.metrics == {}


@pytest.mark.parametrize("size", [0, BATCH_MAX + 1])
async def test_batch_size_is_bounded(service: MetricsService, campaign_id: UUID, size: int) -> None:
    with pytest.raises(InvalidInput) as caught:
        await service.record("alice", campaign_id, [day(n) for n in range(1, size + 1)])
    assert caught.value.field == "rows"


async def test_largest_batch_is_accepted(service: MetricsService, campaign_id: UUID) -> None:
    recorded = await service.record("alice", campaign_id, [day(n) for n in range(1, BATCH_MAX + 1)])
    assert recorded.summary.totals.days == BATCH_MAX


async def test_another_owner_sees_not_found(
    service: MetricsService, store: InMemoryStore, campaign_id: UUID
) -> None:
    await service.record("alice", campaign_id, [day(1)])
    with pytest.raises(NotFound):
        await service.record("bob", campaign_id, [day(1, clicks=0)])
    with pytest.raises(NotFound):
        await service.report("bob", campaign_id, JAN, JAN)
    assert store.metrics[campaign_id][JAN] == day(1)


async def test_unknown_campaign_is_not_found(service: MetricsService) -> None:
    with pytest.raises(NotFound):
        await service.record("alice", uuid4(), [day(1)])
    with pytest.raises(NotFound):
        await service.report("alice", uuid4(), JAN, JAN)


async def test_report_keeps_to_the_inclusive_range(
    service: MetricsService, campaign_id: UUID
) -> None:
    await service.record("alice", campaign_id, [day(n) for n in range(1, 11)])
    report = await service.report("alice", campaign_id, date(2025, 1, 3), date(2025, 1, 5))
    assert [r.day.day for r in report.rows] == [3, 4, 5]
    assert report.summary.totals.days == 3
    single = await service.report("alice", campaign_id, date(2025, 1, 10), date(2025, 1, 10))
    assert [r.day.day for r in single.rows] == [10]


async def test_metrics_of_other_campaigns_stay_apart(
    service: MetricsService, store: InMemoryStore, campaign_id: UUID
) -> None:
    campaigns = CampaignService(lambda: InMemoryUnitOfWork(store), FixedClock(NOW))
    other = await campaigns.create("alice", CampaignDraft(name="Other", channel=Channel.EMAIL))
    await service.record("alice", campaign_id, [day(1)])
    await service.record("alice", other.id, [day(1, clicks=3)])
    report = await service.report("alice", campaign_id, JAN, JAN)
    assert report.summary.totals.clicks == 10


async def test_empty_range_has_zero_totals_and_null_kpis(
    service: MetricsService, campaign_id: UUID
) -> None:
    await service.record("alice", campaign_id, [day(1)])
    report = await service.report("alice", campaign_id, date(2025, 2, 1), date(2025, 2, 28))
    assert report.rows == []
    assert report.summary.totals == Totals()
    assert report.summary.kpis == Kpis()


async def test_report_defaults_to_the_last_30_days(
    service: MetricsService, campaign_id: UUID
) -> None:
    today = NOW.date()
    edges = [today - timedelta(days=30), today - timedelta(days=29), today, today + timedelta(1)]
    await service.record("alice", campaign_id, [day(1, day=d) for d in edges])
    report = await service.report("alice", campaign_id)
    assert (report.start, report.end) == (today - timedelta(days=29), today)
    assert [r.day for r in report.rows] == edges[1:3]
    older = await service.report("alice", campaign_id, end=date(2025, 1, 31))
    assert older.start == date(2025, 1, 2)


async def _flighted(store: InMemoryStore, starts_on: date, ends_on: date | None) -> UUID:
    campaigns = CampaignService(lambda: InMemoryUnitOfWork(store), FixedClock(NOW))
    draft = CampaignDraft(
        name="Flight", channel=Channel.SEARCH, starts_on=starts_on, ends_on=ends_on
    )
    return (await campaigns.create("alice", draft)).id


async def test_a_campaign_with_a_flight_reports_its_flight_by_default(
    service: MetricsService, store: InMemoryStore
) -> None:
    january = await _flighted(store, date(2025, 1, 5), date(2025, 1, 20))  # ended: it ran then
    await service.record("alice", january, [day(4), day(5), day(20), day(21)])
    report = await service.report("alice", january)
    assert (report.start, report.end) == (date(2025, 1, 5), date(2025, 1, 20))
    assert [r.day for r in report.rows] == [date(2025, 1, 5), date(2025, 1, 20)]
    running = await _flighted(store, date(2025, 1, 10), None)  # still running: up to today
    report = await service.report("alice", running)
    assert (report.start, report.end) == (date(2025, 1, 10), NOW.date())
    ahead = await _flighted(store, date(2025, 6, 1), date(2025, 6, 30))  # not begun: day one
    report = await service.report("alice", ahead)
    assert (report.start, report.end) == (date(2025, 6, 1), date(2025, 6, 1))
    given = await service.report("alice", january, end=date(2025, 1, 31))  # one date: calendar
    assert (given.start, given.end) == (date(2025, 1, 2), date(2025, 1, 31))


async def test_from_after_to_is_refused(service: MetricsService, campaign_id: UUID) -> None:
    with pytest.raises(InvalidInput) as caught:
        await service.report("alice", campaign_id, date(2025, 1, 2), date(2025, 1, 1))
    assert caught.value.field == "from"


async def test_range_length_is_bounded(service: MetricsService, campaign_id: UUID) -> None:
    end = date(2025, 12, 31)
    longest = await service.report("alice", campaign_id, end - timedelta(RANGE_MAX_DAYS - 1), end)
    assert longest.rows == []
    with pytest.raises(InvalidInput) as caught:
        await service.report("alice", campaign_id, end - timedelta(RANGE_MAX_DAYS), end)
    assert caught.value.field == "from"


async def test_deleting_the_campaign_removes_its_metrics(
    service: MetricsService, store: InMemoryStore, campaign_id: UUID
) -> None:
    await service.record("alice", campaign_id, [day(1)])
    campaigns = CampaignService(lambda: InMemoryUnitOfWork(store), FixedClock(NOW))
    await campaigns.delete("alice", campaign_id)
    assert campaign_id not in store.metrics
