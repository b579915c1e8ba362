"""Settings choose the cache: Redis when shared, the process when alone, none across processes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from market_ai.adapters.memory.cache import InMemoryCache
from market_ai.adapters.redis.cache import RedisCache
from market_ai.container import build_container, stop
from market_ai.entrypoints.serve import share_cache_or_none
from market_ai.settings import SettingsError, load_settings
from tests.conftest import make_settings

REDIS = "redis://127.0.0.1:1/0"  # never connected to: building a client makes no connection


@pytest.mark.parametrize(
    ("values", "store"),
    [
        ({}, InMemoryCache),
        ({"redis_url": REDIS}, RedisCache),
        ({"redis_url": REDIS, "cache_backend": "memory"}, InMemoryCache),
    ],
)
async def test_the_cache_follows_the_settings(
    tmp_path: Path, values: dict[str, str], store: type[object]
) -> None:
    container = build_container(make_settings(tmp_path, **values))
    reads = container.read_cache()
    assert reads is not None
    assert isinstance(container.cache_store(), store)
    assert container.metrics_service()._reads is reads, "one per process: shared single flight"
    assert container.analysis_service()._reads is reads
    await stop(container)


def test_off_means_no_cache(tmp_path: Path) -> None:
    container = build_container(make_settings(tmp_path, cache_backend="off"))
    assert container.read_cache() is None
    assert container.campaign_service()._reads is None


def test_a_redis_cache_needs_redis(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CACHE_BACKEND", "redis")
    monkeypatch.setenv("MARKET_AI_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("REDIS_URL", raising=False)
    with pytest.raises(SettingsError, match="CACHE_BACKEND"):
        load_settings()


def test_serve_with_many_processes_and_no_redis_turns_the_cache_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CACHE_BACKEND", "")  # recorded, so the teardown removes what we set
    monkeypatch.delenv("CACHE_BACKEND")
    share_cache_or_none(1, make_settings(tmp_path))
    share_cache_or_none(2, make_settings(tmp_path, redis_url=REDIS))
    assert "CACHE_BACKEND" not in os.environ
    share_cache_or_none(2, make_settings(tmp_path))
    assert os.environ["CACHE_BACKEND"] == "off"
