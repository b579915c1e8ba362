"""CampaignRepository contract: the same assertions on memory, SQLite and Postgres."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from uuid import UUID, uuid4

import pytest

from market_ai.domain.campaigns import Campaign, CampaignStatus, Channel
from market_ai.domain.errors import Conflict
from market_ai.domain.ports import CampaignRepository, UnitOfWorkFactory

T0 = datetime(2025, 1, 15, 8, 30, 15, 123456, tzinfo=UTC)


def _campaign(owner: str = "u1", minutes: int = 0, **values: object) -> Campaign:
    at = T0 + timedelta(minutes=minutes)
    base = Campaign(
        owner_id=owner, name=f"c{minutes}", channel=Channel.EMAIL, created_at=at, updated_at=at
    )
    return replace(base, **values)  # type: ignore[arg-type]


async def _add(uow_factory: UnitOfWorkFactory, *items: Campaign) -> None:
    async with uow_factory() as uow:
        repo: CampaignRepository = uow.campaigns
        for campaign in items:
            await repo.add(campaign)
        await uow.commit()


async def _get(uow_factory: UnitOfWorkFactory, owner: str, campaign_id: UUID) -> Campaign | None:
    async with uow_factory() as uow:
        repo: CampaignRepository = uow.campaigns
        return await repo.get(owner, campaign_id)


async def _names(
    uow_factory: UnitOfWorkFactory, owner: str = "u1", **query: object
) -> tuple[list[str], int]:
    async with uow_factory() as uow:
        repo: CampaignRepository = uow.campaigns
        items, total = await repo.list(owner, **{"offset": 0, "limit": 100, **query})  # type: ignore[arg-type]
        return [c.name for c in items], total


# add / get


@pytest.mark.parametrize(
    "campaign",
    [
        _campaign(
            owner="user_2abcDEF",
            name="Spring sale — été ☀",
            channel=Channel.VIDEO,
            status=CampaignStatus.PAUSED,
            budget=Decimal("1234.50"),
            currency="EUR",
            starts_on=date(2025, 2, 28),
            ends_on=date(2025, 3, 1),
            audience="Returning customers",
            brief="x" * 10_000,
            updated_at=T0 + timedelta(days=3, microseconds=1),
            version=7,
        ),
        _campaign(),
        _campaign(budget=Decimal("999999999999.99"), currency="JPY"),
        _campaign(budget=Decimal("0.01")),
    ],
    ids=["every-field", "defaults-and-nones", "largest-budget", "one-cent"],
)
async def test_add_then_get_round_trips_every_field_exactly(
    uow_factory: UnitOfWorkFactory, campaign: Campaign
) -> None:
    await _add(uow_factory, campaign)
    got = await _get(uow_factory, campaign.owner_id, campaign.id)
    assert got is not None
    assert got == campaign
    assert str(got.budget) == str(campaign.budget)
    assert {got.created_at.utcoffset(), got.updated_at.utcoffset()} == {timedelta(0)}
    assert (type(got.channel), type(got.status)) == (Channel, CampaignStatus)


async def test_get_with_another_owner_or_unknown_id_is_none(uow_factory: UnitOfWorkFactory) -> None:
    campaign = _campaign()
    await _add(uow_factory, campaign)
    assert await _get(uow_factory, "u2", campaign.id) is None
    assert await _get(uow_factory, "u1", uuid4()) is None


async def test_adding_a_duplicate_id_is_a_conflict(uow_factory: UnitOfWorkFactory) -> None:
    campaign = _campaign()
    await _add(uow_factory, campaign)
    with pytest.raises(Conflict):
        await _add(uow_factory, replace(campaign, owner_id="u2", name="copy"))
    assert await _get(uow_factory, "u1", campaign.id) == campaign
    assert await _get(uow_factory, "u2", campaign.id) is None


# list


async def test_list_is_newest_first_with_offset_limit_and_total(
    uow_factory: UnitOfWorkFactory,
) -> None:
    await _add(uow_factory, *(_campaign(minutes=m) for m in (3, 1, 4, 0, 2)))
    await _add(uow_factory, _campaign(owner="u2", minutes=9))
    async with uow_factory() as uow:
        repo: CampaignRepository = uow.campaigns
        pages = [await repo.list("u1", offset=offset, limit=2) for offset in (0, 2, 4, 6)]
        nobodys = [await repo.list("nobody", offset=offset, limit=2) for offset in (0, 2)]
    names = [[c.name for c in items] for items, _ in pages]
    assert names == [["c4", "c3"], ["c2", "c1"], ["c0"], []]
    assert {total for _, total in pages} == {5}  # a page past the end still knows the total
    assert nobodys == [([], 0), ([], 0)]


async def test_list_breaks_created_at_ties_by_id_the_same_everywhere(
    uow_factory: UnitOfWorkFactory,
) -> None:
    twins = [_campaign(name=f"twin{i}") for i in range(4)]
    await _add(uow_factory, *twins)
    expected = [c.name for c in sorted(twins, key=lambda c: c.id.bytes, reverse=True)]
    assert await _names(uow_factory) == (expected, 4)


async def test_list_filters_by_status_and_channel_and_counts_the_filtered(
    uow_factory: UnitOfWorkFactory,
) -> None:
    await _add(
        uow_factory,
        _campaign(minutes=0, status=CampaignStatus.ACTIVE),
        _campaign(minutes=1, status=CampaignStatus.ACTIVE, channel=Channel.SOCIAL),
        _campaign(minutes=2, channel=Channel.SOCIAL),
        _campaign(owner="u2", minutes=3, status=CampaignStatus.ACTIVE, channel=Channel.SOCIAL),
    )
    assert await _names(uow_factory, status=CampaignStatus.ACTIVE) == (["c1", "c0"], 2)
    assert await _names(uow_factory, channel=Channel.SOCIAL) == (["c2", "c1"], 2)
    both = await _names(uow_factory, status=CampaignStatus.ACTIVE, channel=Channel.SOCIAL)
    assert both == (["c1"], 1)
    assert await _names(uow_factory, status=CampaignStatus.ARCHIVED) == ([], 0)
    assert await _names(uow_factory, owner="nobody") == ([], 0)


async def test_totals_follow_status_moves_deletes_and_rollbacks(
    uow_factory: UnitOfWorkFactory,
) -> None:
    """SQL keeps totals beside the rows; they must stay exact whatever the write."""
    items = [_campaign(minutes=m) for m in range(5)]
    await _add(uow_factory, *items)
    async with uow_factory() as uow:
        repo: CampaignRepository = uow.campaigns
        assert await repo.save(items[0].revised(T0, status=CampaignStatus.ACTIVE))
        assert await repo.save(items[1].revised(T0, channel=Channel.SOCIAL))
        assert await repo.delete("u1", items[2].id)
        await uow.commit()
    async with uow_factory() as uow:
        repo = uow.campaigns
        await repo.add(_campaign(minutes=9))
        assert await repo.delete("u1", items[3].id)
        await uow.rollback()  # neither the add nor the delete counts
    assert (await _names(uow_factory))[1] == 4
    assert (await _names(uow_factory, status=CampaignStatus.ACTIVE))[1] == 1
    assert (await _names(uow_factory, status=CampaignStatus.DRAFT))[1] == 3
    assert (await _names(uow_factory, channel=Channel.SOCIAL))[1] == 1
    assert (await _names(uow_factory, offset=10))[1] == 4  # past the end: the total alone
    draft_email = {"status": CampaignStatus.DRAFT, "channel": Channel.EMAIL}
    assert (await _names(uow_factory, offset=10, **draft_email))[1] == 2


# save (compare-and-set on version)


async def test_save_with_the_next_version_persists(uow_factory: UnitOfWorkFactory) -> None:
    campaign = _campaign()
    await _add(uow_factory, campaign)
    revised = campaign.revised(T0 + timedelta(hours=1), name="Renamed", budget=Decimal("5.00"))
    async with uow_factory() as uow:
        repo: CampaignRepository = uow.campaigns
        assert await repo.save(revised) is True
        await uow.commit()
    assert await _get(uow_factory, "u1", campaign.id) == revised


async def test_save_from_a_stale_version_is_refused_and_changes_nothing(
    uow_factory: UnitOfWorkFactory,
) -> None:
    campaign = _campaign()
    await _add(uow_factory, campaign)
    first, stale = campaign.revised(T0, name="First"), campaign.revised(T0, name="Stale")
    skipping = replace(first, version=5, name="Skipping")
    async with uow_factory() as uow:
        repo: CampaignRepository = uow.campaigns
        assert await repo.save(first) is True
        await uow.commit()
    async with uow_factory() as uow:
        repo = uow.campaigns
        assert await repo.save(stale) is False
        assert await repo.save(skipping) is False
        assert await repo.save(replace(first.revised(T0), owner_id="u2")) is False
        assert await repo.save(_campaign(version=2)) is False  # never added
        await uow.commit()
    assert await _get(uow_factory, "u1", campaign.id) == first


# delete


async def test_delete_removes_only_the_owners_campaign(uow_factory: UnitOfWorkFactory) -> None:
    campaign = _campaign()
    await _add(uow_factory, campaign)
    async with uow_factory() as uow:
        repo: CampaignRepository = uow.campaigns
        assert await repo.delete("u2", campaign.id) is False
        assert await repo.delete("u1", uuid4()) is False
        await uow.commit()
    assert await _get(uow_factory, "u1", campaign.id) == campaign
    async with uow_factory() as uow:
        repo = uow.campaigns
        assert await repo.delete("u1", campaign.id) is True
        assert await repo.get("u1", campaign.id) is None
        assert await repo.delete("u1", campaign.id) is False
        await uow.commit()
    assert await _get(uow_factory, "u1", campaign.id) is None


# unit of work


async def test_writes_are_seen_inside_their_unit_of_work_and_after_commit(
    uow_factory: UnitOfWorkFactory,
) -> None:
    first, second = _campaign(minutes=0), _campaign(minutes=1)
    async with uow_factory() as uow:
        repo: CampaignRepository = uow.campaigns
        await repo.add(first)
        await repo.add(second)
        assert await repo.get("u1", first.id) == first
        assert (await repo.list("u1", offset=0, limit=10))[1] == 2
        await uow.commit()
    assert await _names(uow_factory) == (["c1", "c0"], 2)


async def test_uncommitted_writes_vanish(uow_factory: UnitOfWorkFactory) -> None:
    kept = _campaign(minutes=0)
    await _add(uow_factory, kept)
    async with uow_factory() as uow:
        repo: CampaignRepository = uow.campaigns
        await repo.add(_campaign(minutes=1))
        assert await repo.save(kept.revised(T0, name="Changed")) is True
        assert await repo.delete("u1", kept.id) is True
    assert await _names(uow_factory) == (["c0"], 1)
    assert await _get(uow_factory, "u1", kept.id) == kept


async def test_rollback_discards_and_a_failure_rolls_back(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        await uow.campaigns.add(_campaign(minutes=1))
        await uow.rollback()

    async def add_then_fail() -> None:
        async with uow_factory() as uow:
            await uow.campaigns.add(_campaign(minutes=2))
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        await add_then_fail()
    assert await _names(uow_factory) == ([], 0)


# concurrent units of work (separate connections on the SQL backends)


async def test_of_two_writers_from_one_version_exactly_one_wins(
    uow_factory: UnitOfWorkFactory,
) -> None:
    campaign = _campaign()
    await _add(uow_factory, campaign)
    both_read = asyncio.Barrier(2)
    revisions = {name: campaign.revised(T0, name=name) for name in "AB"}

    async def write(name: str) -> bool:
        async with uow_factory() as uow:
            repo: CampaignRepository = uow.campaigns
            assert await repo.get("u1", campaign.id) == campaign
            await both_read.wait()
            if not await repo.save(revisions[name]):
                return False
            await uow.commit()
            return True

    async with asyncio.timeout(20):
        outcomes = await asyncio.gather(write("A"), write("B"))
    assert sorted(outcomes) == [False, True]
    assert await _get(uow_factory, "u1", campaign.id) == revisions["A" if outcomes[0] else "B"]


async def test_of_two_concurrent_adds_of_one_id_exactly_one_lands(
    uow_factory: UnitOfWorkFactory,
) -> None:
    campaign = _campaign()
    both_added = asyncio.Event()

    async def add(owner: str) -> str:
        async with uow_factory() as uow:
            await uow.campaigns.add(replace(campaign, owner_id=owner))
            if owner == "u1":  # stay open until the second has added (or is blocked on us)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(both_added.wait(), 0.2)
            else:
                both_added.set()
            await uow.commit()
            return owner

    async with asyncio.timeout(20):
        outcomes = await asyncio.gather(add("u1"), add("u2"), return_exceptions=True)
    winners = [o for o in outcomes if isinstance(o, str)]
    assert len(winners) == 1
    assert [type(o) for o in outcomes if not isinstance(o, str)] == [Conflict]
    landed = replace(campaign, owner_id=winners[0])
    assert await _get(uow_factory, landed.owner_id, campaign.id) == landed
