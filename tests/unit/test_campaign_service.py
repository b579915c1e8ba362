"""CampaignService use cases on the in-memory unit of work and a fixed clock."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from uuid import uuid4

import pytest

from market_ai.adapters.memory.unit_of_work import InMemoryStore, InMemoryUnitOfWork
from market_ai.domain import campaign_service as service_module
from market_ai.domain.campaign_service import CampaignChanges, CampaignDraft, CampaignService
from market_ai.domain.campaigns import Campaign, CampaignStatus, Channel
from market_ai.domain.clock import FixedClock
from market_ai.domain.errors import Conflict, IllegalTransition, InvalidInput, NotFound, Unavailable
from tests.fakes import FailingUnitOfWork, RaceStart, losing_units_of_work, racing_units_of_work

NOW = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)
DRAFT = CampaignDraft(name="Launch", channel=Channel.EMAIL)


@pytest.fixture
def store() -> InMemoryStore:
    return InMemoryStore()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def service(store: InMemoryStore, clock: FixedClock) -> CampaignService:
    return CampaignService(lambda: InMemoryUnitOfWork(store), clock)


async def _create_many(
    service: CampaignService, clock: FixedClock, owner: str, count: int, **values: object
) -> list[Campaign]:
    made = []
    for i in range(count):
        clock.at += timedelta(seconds=1)
        draft = CampaignDraft(**{"name": f"{owner}-{i}", "channel": Channel.EMAIL, **values})  # type: ignore[arg-type]
        made.append(await service.create(owner, draft))
    return made


# create / get


async def test_create_normalises_stores_and_returns_version_one(
    service: CampaignService, store: InMemoryStore
) -> None:
    draft = replace(DRAFT, name=" Sale ", budget=Decimal("1.5"), currency="eur", audience="  ")
    made = await service.create("u1", replace(draft, brief=" Sell the spring range. "))
    assert (made.name, made.currency, str(made.budget)) == ("Sale", "EUR", "1.50")
    assert (made.audience, made.brief) == (None, "Sell the spring range.")
    assert (made.version, made.created_at, made.updated_at) == (1, NOW, NOW)
    assert store.campaigns == {made.id: made}
    assert await service.get("u1", made.id) == made


@pytest.mark.parametrize(
    ("draft", "field"),
    [
        (replace(DRAFT, name=" "), "name"),
        (replace(DRAFT, budget=Decimal("1.234")), "budget"),
        (replace(DRAFT, currency="XYZ"), "currency"),
        (replace(DRAFT, status=CampaignStatus.PAUSED), "status"),
        (replace(DRAFT, status=CampaignStatus.ARCHIVED), "status"),
        (replace(DRAFT, starts_on=date(2025, 2, 2), ends_on=date(2025, 2, 1)), "ends_on"),
    ],
)
async def test_create_refuses_bad_drafts_and_stores_nothing(
    service: CampaignService, store: InMemoryStore, draft: CampaignDraft, field: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        await service.create("u1", draft)
    assert caught.value.field == field
    assert store.campaigns == {}


async def test_another_owners_campaign_is_not_found_anywhere(service: CampaignService) -> None:
    mine = await service.create("u1", DRAFT)
    with pytest.raises(NotFound):
        await service.get("u1", uuid4())
    with pytest.raises(NotFound):
        await service.get("u2", mine.id)
    with pytest.raises(NotFound):
        await service.update("u2", mine.id, CampaignChanges(name="Hijacked"))
    with pytest.raises(NotFound):
        await service.delete("u2", mine.id)
    assert (await service.list("u2")).total == 0
    assert await service.get("u1", mine.id) == mine


# list


async def test_list_pages_newest_first_with_totals(
    service: CampaignService, clock: FixedClock
) -> None:
    made = await _create_many(service, clock, "u1", 5)
    await _create_many(service, clock, "u2", 2)
    newest_first = [c.id for c in reversed(made)]
    pages = [await service.list("u1", page=p, per_page=2) for p in (1, 2, 3)]
    assert [[c.id for c in p.items] for p in pages] == [newest_first[i : i + 2] for i in (0, 2, 4)]
    assert {(p.total, p.per_page) for p in pages} == {(5, 2)}
    assert [p.page for p in pages] == [1, 2, 3]


async def test_a_page_past_the_end_is_empty_but_keeps_the_total(
    service: CampaignService, clock: FixedClock
) -> None:
    await _create_many(service, clock, "u1", 3)
    page = await service.list("u1", page=9, per_page=2)
    assert (list(page.items), page.total, page.page) == ([], 3, 9)


@pytest.mark.parametrize(
    ("page", "per_page", "field"),
    [(0, 20, "page"), (-1, 20, "page"), (1, 0, "per_page"), (1, 101, "per_page")],
)
async def test_page_bounds_name_the_field(
    service: CampaignService, page: int, per_page: int, field: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        await service.list("u1", page=page, per_page=per_page)
    assert caught.value.field == field


async def test_the_largest_page_size_is_accepted(service: CampaignService) -> None:
    assert (await service.list("u1", per_page=100)).per_page == 100


async def test_list_filters_by_status_and_channel(
    service: CampaignService, clock: FixedClock
) -> None:
    social = await _create_many(service, clock, "u1", 2, channel=Channel.SOCIAL)
    active = await _create_many(service, clock, "u1", 3, status=CampaignStatus.ACTIVE)
    by_status = await service.list("u1", status=CampaignStatus.ACTIVE)
    by_channel = await service.list("u1", channel=Channel.SOCIAL)
    both = await service.list("u1", status=CampaignStatus.ACTIVE, channel=Channel.SOCIAL)
    assert ({c.id for c in by_status.items}, by_status.total) == ({c.id for c in active}, 3)
    assert ({c.id for c in by_channel.items}, by_channel.total) == ({c.id for c in social}, 2)
    assert (list(both.items), both.total) == ([], 0)


# update / archive / delete


async def test_partial_update_leaves_unset_fields_and_none_clears(
    service: CampaignService, clock: FixedClock
) -> None:
    full = CampaignDraft(
        name="Launch",
        channel=Channel.EMAIL,
        budget=Decimal(100),
        starts_on=date(2025, 4, 1),
        ends_on=date(2025, 4, 30),
        audience="Subscribers",
        brief="Say hello",
    )
    made = await service.create("u1", full)
    clock.at = NOW + timedelta(hours=1)
    updated = await service.update(
        "u1", made.id, CampaignChanges(budget=Decimal("99.9"), audience=None, ends_on=None)
    )
    assert (updated.budget, updated.audience, updated.ends_on) == (Decimal("99.90"), None, None)
    assert (updated.name, updated.brief) == ("Launch", "Say hello")
    assert updated.starts_on == date(2025, 4, 1)
    assert (updated.version, updated.updated_at, updated.created_at) == (2, clock.at, NOW)
    assert await service.get("u1", made.id) == updated


async def test_update_values_get_the_same_rules_as_a_draft(service: CampaignService) -> None:
    made = await service.create("u1", DRAFT)
    with pytest.raises(InvalidInput) as caught:
        await service.update("u1", made.id, CampaignChanges(currency="XYZ"))
    assert caught.value.field == "currency"
    updated = await service.update("u1", made.id, CampaignChanges(name=" New ", currency="gbp"))
    assert (updated.name, updated.currency) == ("New", "GBP")


async def test_an_illegal_status_move_names_status_and_changes_nothing(
    service: CampaignService,
) -> None:
    made = await service.create("u1", DRAFT)
    with pytest.raises(IllegalTransition) as caught:
        await service.update("u1", made.id, CampaignChanges(status=CampaignStatus.COMPLETED))
    assert caught.value.field == "status"
    assert await service.get("u1", made.id) == made


async def test_archive_ends_the_lifecycle(service: CampaignService) -> None:
    made = await service.create("u1", DRAFT)
    archived = await service.archive("u1", made.id)
    assert (archived.status, archived.version) == (CampaignStatus.ARCHIVED, 2)
    with pytest.raises(IllegalTransition):
        await service.update("u1", made.id, CampaignChanges(status=CampaignStatus.ACTIVE))


async def test_delete_removes_the_campaign_once(
    service: CampaignService, store: InMemoryStore
) -> None:
    made = await service.create("u1", DRAFT)
    await service.delete("u1", made.id)
    assert store.campaigns == {}
    with pytest.raises(NotFound):
        await service.get("u1", made.id)
    with pytest.raises(NotFound):
        await service.delete("u1", made.id)


# failures leave no trace


async def test_a_use_case_that_fails_after_staging_leaves_no_trace(
    service: CampaignService, store: InMemoryStore, clock: FixedClock
) -> None:
    made = await service.create("u1", DRAFT)
    failing = CampaignService(lambda: FailingUnitOfWork(InMemoryUnitOfWork(store)), clock)
    with pytest.raises(Unavailable):
        await failing.update("u1", made.id, CampaignChanges(name="Half done"))
    with pytest.raises(Unavailable):
        await failing.delete("u1", made.id)
    with pytest.raises(Unavailable):
        await failing.create("u1", CampaignDraft(name="Never", channel=Channel.VIDEO))
    assert store.campaigns == {made.id: made}
    assert await service.get("u1", made.id) == made


# concurrency


async def test_concurrent_updates_of_different_fields_all_land(
    service: CampaignService, store: InMemoryStore, clock: FixedClock
) -> None:
    made = await service.create("u1", DRAFT)
    wanted = {
        "name": "Renamed",
        "channel": Channel.SEARCH,
        "status": CampaignStatus.ACTIVE,
        "budget": Decimal("42.00"),
        "currency": "CHF",
        "starts_on": date(2025, 5, 1),
        "ends_on": date(2025, 5, 31),
        "audience": "Everyone",
        "brief": "Go",
    }
    changes = [CampaignChanges(**{name: value}) for name, value in wanted.items()]  # type: ignore[arg-type]
    saves: list[bool] = []
    race = RaceStart(len(changes))
    racing = CampaignService(racing_units_of_work(store, saves, race), clock)
    async with asyncio.timeout(5):  # a racer stuck at the start line fails, not hangs
        await asyncio.gather(*(racing.update("u1", made.id, c) for c in changes))
    final = await service.get("u1", made.id)
    assert {name: getattr(final, name) for name in wanted} == wanted
    assert final.version == 1 + len(changes)
    assert saves.count(False) == len(changes) - 1, "every racer but one must have lost once"


async def test_twenty_concurrent_writers_each_get_their_own_version(
    service: CampaignService, store: InMemoryStore, clock: FixedClock
) -> None:
    made = await service.create("u1", DRAFT)
    saves: list[bool] = []
    race = RaceStart(20)
    racing = CampaignService(racing_units_of_work(store, saves, race), clock)
    async with asyncio.timeout(5):
        results = await asyncio.gather(
            *(racing.update("u1", made.id, CampaignChanges(brief=f"writer {i}")) for i in range(20))
        )
    assert sorted(r.version for r in results) == list(range(2, 22))
    final = await service.get("u1", made.id)
    last = max(results, key=lambda r: r.version)
    assert (final.version, final.brief) == (21, last.brief)
    assert saves.count(False) == 19, "all raced from version 1; one won"


async def test_the_service_gives_up_with_conflict_when_the_version_keeps_moving(
    service: CampaignService, store: InMemoryStore, clock: FixedClock
) -> None:
    made = await service.create("u1", DRAFT)
    attempts: list[Campaign] = []
    losing = CampaignService(losing_units_of_work(store, attempts), clock)
    with pytest.raises(Conflict):
        await losing.update("u1", made.id, CampaignChanges(name="Lost"))
    assert len(attempts) == service_module._SAVE_ATTEMPTS > 1
    assert {a.name for a in attempts} == {"Lost"}
    assert store.campaigns == {made.id: made}
