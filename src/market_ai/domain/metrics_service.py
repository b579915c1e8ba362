"""Campaign performance use cases: record daily figures and report them over a date range."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final
from uuid import UUID

from market_ai.domain.campaigns import Campaign
from market_ai.domain.errors import InvalidInput, NotFound
from market_ai.domain.flight import DEFAULT_WINDOW_DAYS, WINDOW_MAX_DAYS, flight_window
from market_ai.domain.metrics import DailyMetrics, MetricsSummary, summarise
from market_ai.domain.ports import Clock, UnitOfWork, UnitOfWorkFactory
from market_ai.domain.read_cache import ReadCache

BATCH_MAX: Final = 1_000  # a bit under three years of days per request
RANGE_MAX_DAYS: Final = WINDOW_MAX_DAYS
DEFAULT_RANGE_DAYS: Final = DEFAULT_WINDOW_DAYS


@dataclass(frozen=True, slots=True)
class MetricsReport:
    """Days of one campaign between two dates (inclusive), ordered by date, with their sums."""

    campaign_id: UUID
    start: date
    end: date
    rows: Sequence[DailyMetrics]
    summary: MetricsSummary


def check_batch(rows: Sequence[DailyMetrics]) -> list[DailyMetrics]:
    """A batch is bounded and holds each date once, so replacing by date is unambiguous."""
    if not 1 <= len(rows) <= BATCH_MAX:
        raise InvalidInput("rows", f"must hold between 1 and {BATCH_MAX} rows")
    seen: dict[date, int] = {}
    for index, row in enumerate(rows):
        if row.day in seen:
            raise InvalidInput(
                f"rows[{index}].date", f"{row.day} already appears in rows[{seen[row.day]}]"
            )
        seen[row.day] = index
    return sorted(rows, key=lambda row: row.day)


def check_range(start: date, end: date) -> None:
    """Ranges are ordered and bounded, so one request cannot read years of rows."""
    if start > end:
        raise InvalidInput("from", "must be on or before to")
    if (end - start).days + 1 > RANGE_MAX_DAYS:
        raise InvalidInput("from", f"the range must cover at most {RANGE_MAX_DAYS} days")


class MetricsService:
    """Record and report a user's campaign performance; another user's campaign is NotFound."""

    def __init__(
        self, unit_of_work: UnitOfWorkFactory, clock: Clock, reads: ReadCache | None = None
    ) -> None:
        self._uow = unit_of_work
        self._clock = clock
        self._reads = reads

    async def record(
        self, owner_id: str, campaign_id: UUID, rows: Sequence[DailyMetrics]
    ) -> MetricsReport:
        """Store a batch of days, replacing any day already stored: retrying is safe.

        The batch is written in one unit of work, so it lands whole or not at all. The
        summary covers exactly the posted days (now stored as given), so posting the same
        batch twice answers the same.
        """
        ordered = check_batch(rows)
        async with self._uow() as uow:
            await _must_own(uow, owner_id, campaign_id)
            await uow.metrics.upsert_many(campaign_id, ordered, self._clock.now())
            await uow.commit()
        if self._reads is not None:
            await self._reads.invalidate(campaign_id)
        return MetricsReport(
            campaign_id=campaign_id,
            start=ordered[0].day,
            end=ordered[-1].day,
            rows=ordered,
            summary=summarise(ordered),
        )

    async def report(
        self,
        owner_id: str,
        campaign_id: UUID,
        start: date | None = None,
        end: date | None = None,
    ) -> MetricsReport:
        """Return the stored days in [start, end] and their summary.

        With neither date, the campaign's flight up to today (flight_window), so a campaign
        that ran in March reports March; a flight yet to begin reports its first day. With
        one date, the other is as a calendar would have it: `end` today, `start` 29 days
        before `end`.
        """
        if start is not None and end is not None:
            check_range(start, end)  # refused before any cache or database work
        if self._reads is None:
            return await self._report(owner_id, campaign_id, start, end)
        # The owner is part of the key: a hit proves they owned the campaign in this
        # generation, and a delete starts a new one. A missing date is resolved against
        # today and the campaign's flight, so today is in the key; a change of flight is a
        # campaign update, which starts a new generation.
        today = self._clock.today().isoformat()
        name = f"metrics:{owner_id}:{start or '-'}:{end or '-'}:{today}"
        return await self._reads.read(
            campaign_id,
            name,
            MetricsReport,
            lambda: self._report(owner_id, campaign_id, start, end),
        )

    async def _report(
        self, owner_id: str, campaign_id: UUID, start: date | None, end: date | None
    ) -> MetricsReport:
        async with self._uow() as uow:
            campaign = await _must_own(uow, owner_id, campaign_id)
            start, end = self._window(campaign, start, end)
            check_range(start, end)
            rows = list(await uow.metrics.list_range(campaign_id, start, end))
        return MetricsReport(
            campaign_id=campaign_id,
            start=start,
            end=end,
            rows=rows,
            summary=summarise(rows),
        )

    def _window(
        self, campaign: Campaign, start: date | None, end: date | None
    ) -> tuple[date, date]:
        today = self._clock.today()
        if start is None and end is None:
            first, last = flight_window(campaign.starts_on, campaign.ends_on, today)
            return first, max(first, last)
        end = today if end is None else end
        start = end - timedelta(days=DEFAULT_RANGE_DAYS - 1) if start is None else start
        return start, end


async def _must_own(uow: UnitOfWork, owner_id: str, campaign_id: UUID) -> Campaign:
    campaign = await uow.campaigns.get(owner_id, campaign_id)
    if campaign is None:
        raise NotFound("campaign not found")
    return campaign
