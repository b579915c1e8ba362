"""market-ai as a library: the public names, and campaigns without any HTTP."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

import market_ai
from market_ai import (
    CampaignChanges,
    CampaignDraft,
    CampaignService,
    CampaignStatus,
    Channel,
    Container,
    InvalidInput,
    NotFound,
    Page,
    Settings,
    build_container,
    start,
    stop,
)


def test_every_public_name_resolves() -> None:
    assert market_ai.__all__, "the package declares its public API"
    assert len(set(market_ai.__all__)) == len(market_ai.__all__)
    missing = [name for name in market_ai.__all__ if getattr(market_ai, name, None) is None]
    assert missing == []


def test_the_public_api_offers_what_the_readme_example_uses() -> None:
    needed = {"build_container", "start", "stop", "Settings", "CampaignDraft", "Channel"}
    assert needed <= set(market_ai.__all__)


def test_the_package_is_typed() -> None:
    assert (Path(market_ai.__file__).parent / "py.typed").is_file()


def _entries(directory: Path) -> list[Path]:
    return list(directory.iterdir())


async def _use_campaigns(container: Container) -> None:
    await start(container)
    try:
        service = container.campaign_service()
        assert isinstance(service, CampaignService)
        made = await service.create(
            "user-1",
            CampaignDraft(name="Launch", channel=Channel.EMAIL, budget=Decimal("250.5")),
        )
        await service.create("user-1", CampaignDraft(name="Follow-up", channel=Channel.SOCIAL))
        await service.update("user-1", made.id, CampaignChanges(status=CampaignStatus.ACTIVE))
        page = await container.campaign_service().list("user-1", per_page=10)
        assert isinstance(page, Page)
        assert page.total == 2
        assert {c.name for c in page.items} == {"Launch", "Follow-up"}
        stored = await container.campaign_service().get("user-1", made.id)
        assert (stored.status, stored.budget, stored.version) == ("active", Decimal("250.50"), 2)
        with pytest.raises(NotFound):
            await service.get("user-2", made.id)
        with pytest.raises(InvalidInput):
            await service.create("user-1", CampaignDraft(name="", channel=Channel.EMAIL))
    finally:
        await stop(container)


async def test_campaigns_on_embedded_sqlite(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    await _use_campaigns(build_container(Settings(_env_file=None, data_dir=tmp_path)))
    assert (tmp_path / "market-ai.db").is_file()


async def test_campaigns_in_memory(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path, database_url="memory://")
    await _use_campaigns(build_container(settings))
    assert _entries(tmp_path) == []
