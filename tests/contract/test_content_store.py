"""ContentStore contract: memory, SQLite and Postgres keep, page and look up variants alike."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from market_ai.adapters.memory.content import InMemoryContentStore
from market_ai.adapters.sql.content import SqlContentStore
from market_ai.domain.campaigns import Campaign, Channel
from market_ai.domain.content_ports import ContentStore
from tests.content_rig import variant
from tests.contract.conftest import Backend

NOW = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)

_store: ContentStore = InMemoryContentStore()  # the fake satisfies the port (checked by mypy)


@pytest.fixture
def store(backend: Backend) -> ContentStore:
    return InMemoryContentStore() if backend.engine is None else SqlContentStore(backend.engine)


async def new_campaign(backend: Backend, owner: str = "alice") -> Campaign:
    campaign = Campaign(
        owner_id=owner, name="Launch", channel=Channel.EMAIL, created_at=NOW, updated_at=NOW
    )
    async with backend.uow() as uow:
        await uow.campaigns.add(campaign)
        await uow.commit()
    return campaign


async def test_a_variant_reads_back_as_stored_and_only_once_per_job_index(
    backend: Backend, store: ContentStore
) -> None:
    campaign = await new_campaign(backend)
    first = variant(campaign.id, "alice", cited_file_ids=("file-a", "file-b"))
    twin = replace(first, id=uuid4(), text="A redelivery's copy.")
    assert await store.add(first) is True
    assert await store.add(twin) is False
    assert await store.for_job(first.job_id) == [first]
    second = variant(campaign.id, "alice", job_id=first.job_id, index=1)
    await store.add(second)
    assert [v.index for v in await store.for_job(first.job_id)] == [0, 1]
    assert await store.for_job(uuid4()) == []


async def test_a_campaigns_page_is_newest_first_and_the_owners_only(
    backend: Backend, store: ContentStore
) -> None:
    campaign, other = await new_campaign(backend), await new_campaign(backend)
    older = variant(campaign.id, "alice", created_at=NOW)
    newer = variant(campaign.id, "alice", created_at=NOW + timedelta(minutes=1))
    for item in (older, newer, variant(other.id, "alice")):
        await store.add(item)
    items, total = await store.list("alice", campaign.id, offset=0, limit=1)
    assert (list(items), total) == ([newer], 2)
    items, _ = await store.list("alice", campaign.id, offset=1, limit=5)
    assert list(items) == [older]
    assert await store.list("bob", campaign.id, offset=0, limit=5) == ([], 0)


async def test_get_finds_a_variant_only_for_its_owner_and_campaign(
    backend: Backend, store: ContentStore
) -> None:
    campaign, other = await new_campaign(backend), await new_campaign(backend)
    bobs_campaign = await new_campaign(backend, "bob")
    mine = variant(campaign.id, "alice", cited_file_ids=("file-a",))
    bobs = variant(bobs_campaign.id, "bob")
    for item in (mine, bobs, variant(other.id, "alice")):
        await store.add(item)

    assert await store.get("alice", campaign.id, mine.id) == mine
    assert await store.get("alice", other.id, mine.id) is None  # another campaign's
    assert await store.get("bob", campaign.id, mine.id) is None  # another user's
    assert await store.get("alice", bobs_campaign.id, bobs.id) is None
    assert await store.get("alice", campaign.id, bobs.id) is None
    assert await store.get("alice", campaign.id, uuid4()) is None
    assert await store.get("bob", bobs_campaign.id, bobs.id) == bobs
