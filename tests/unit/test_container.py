"""The composition root: which adapters the settings select, and when anything is built."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

from dependency_injector import providers

from market_ai.adapters.auth.local_key import LocalKeyTokens
from market_ai.adapters.memory.content import InMemoryContentStore, InMemorySpendLedger
from market_ai.adapters.memory.offline_summary import OfflineSummaryWriter
from market_ai.adapters.memory.probe import InMemoryHealthProbe
from market_ai.adapters.memory.unit_of_work import InMemoryStore, InMemoryUnitOfWork
from market_ai.adapters.sql.probe import SqlHealthProbe
from market_ai.adapters.sql.unit_of_work import SqlUnitOfWork
from market_ai.container import (
    Container,
    build_container,
    identity_kind,
    start,
    stop,
    summary_spend_policy,
)
from market_ai.domain.analysis_summary import ModelSummaryWriter
from market_ai.domain.campaign_service import CampaignDraft
from market_ai.domain.campaigns import Channel
from market_ai.domain.clock import FixedClock
from tests.conftest import make_settings
from tests.content_rig import variant

DB_FILE = "market-ai.db"
DRAFT = CampaignDraft(name="Launch", channel=Channel.EMAIL)


def _files(directory: Path) -> list[Path]:
    return [p for p in directory.rglob("*") if p.is_file()] if directory.exists() else []


@asynccontextmanager
async def _running(data_dir: Path, **values: object) -> AsyncIterator[Container]:
    container = build_container(make_settings(data_dir, **values))
    await start(container)
    try:
        yield container
    finally:
        await stop(container)


def test_default_settings_select_the_sql_adapters(tmp_path: Path) -> None:
    container = build_container(make_settings(tmp_path))
    assert container.storage() == "sql"
    assert isinstance(container.unit_of_work(), SqlUnitOfWork)
    assert isinstance(container.database_probe(), SqlHealthProbe)


def test_a_new_unit_of_work_per_call_over_one_engine(tmp_path: Path) -> None:
    container = build_container(make_settings(tmp_path))
    assert container.unit_of_work() is not container.unit_of_work()
    assert container.engine() is container.engine()


def test_memory_url_selects_the_in_memory_adapters(tmp_path: Path) -> None:
    container = build_container(make_settings(tmp_path, database_url="memory://"))
    assert container.storage() == "memory"
    uow = container.unit_of_work()
    assert isinstance(uow, InMemoryUnitOfWork)
    assert uow.store is container.memory_store()
    assert isinstance(container.database_probe(), InMemoryHealthProbe)


def test_without_an_identity_provider_tokens_are_local(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    assert identity_kind(settings) == "local"
    verifier = build_container(settings).token_verifier()
    assert isinstance(verifier, LocalKeyTokens)


def test_a_configured_identity_provider_is_selected(tmp_path: Path) -> None:
    assert identity_kind(make_settings(tmp_path, clerk_domain="clerk.example.com")) == "clerk"


async def test_overriding_unit_of_work_reaches_the_campaign_service(tmp_path: Path) -> None:
    container = build_container(make_settings(tmp_path / "data"))
    store = InMemoryStore()
    container.unit_of_work.override(providers.Factory(InMemoryUnitOfWork, store))
    try:
        made = await container.campaign_service().create("u1", DRAFT)
    finally:
        container.reset_override()
    assert store.campaigns == {made.id: made}
    assert _files(tmp_path / "data") == []


def test_overriding_storage_switches_the_adapters_of_every_sub_container(tmp_path: Path) -> None:
    container = build_container(make_settings(tmp_path))
    container.storage.override(providers.Object("memory"))
    try:
        assert isinstance(container.unit_of_work(), InMemoryUnitOfWork)
        assert isinstance(container.database_probe(), InMemoryHealthProbe)
        assert isinstance(container.content_store(), InMemoryContentStore)
        assert isinstance(container.spend_ledger(), InMemorySpendLedger)
    finally:
        container.reset_override()


async def test_reset_override_undoes_overrides_and_keeps_the_wiring(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, database_url="memory://")
    container = build_container(settings)
    fixed = FixedClock(datetime(2025, 3, 1, 12, tzinfo=UTC))
    container.clock.override(providers.Object(fixed))
    assert (await container.campaign_service().create("u1", DRAFT)).created_at == fixed.now()
    container.reset_override()  # undoes build_container's settings too, as it always has
    container.settings.override(providers.Object(settings))
    made = await container.campaign_service().create("u1", DRAFT)
    assert made.created_at != fixed.now()
    assert await container.job_service().list_dead(limit=1) == []
    assert (await container.health_service().readiness()).ready


def test_importing_the_container_builds_nothing(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    env = {**os.environ, "MARKET_AI_DATA_DIR": str(data_dir)}
    env.pop("DATABASE_URL", None)
    subprocess.run(
        [sys.executable, "-c", "import market_ai, market_ai.container"],
        cwd=tmp_path,
        env=env,
        check=True,
        timeout=60,
    )
    assert not data_dir.exists()
    assert _files(tmp_path) == []


async def test_nothing_touches_the_data_dir_until_start(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    container = build_container(make_settings(data_dir))
    container.campaign_service()
    container.health_service()
    container.unit_of_work()
    assert _files(data_dir) == []
    await start(container)
    try:
        assert (data_dir / DB_FILE).is_file()
    finally:
        await stop(container)


async def test_sqlite_data_survives_a_restart(tmp_path: Path) -> None:
    async with _running(tmp_path) as first:
        made = await first.campaign_service().create("u1", DRAFT)
    async with _running(tmp_path) as second:
        assert await second.campaign_service().get("u1", made.id) == made
        assert (await second.campaign_service().list("u1")).total == 1


async def test_stop_twice_is_safe(tmp_path: Path) -> None:
    async with _running(tmp_path) as container:
        await stop(container)


async def test_a_started_container_is_ready(tmp_path: Path) -> None:
    async with _running(tmp_path) as sql:
        sql_report = await sql.health_service().readiness()
    async with _running(tmp_path / "mem", database_url="memory://") as memory:
        memory_report = await memory.health_service().readiness()
    assert sql_report.ready
    assert [p.name for p in sql_report.probes] == ["database"]
    assert memory_report.ready
    assert not (tmp_path / "mem" / DB_FILE).exists()


async def test_analyses_are_summarised_by_whatever_writes_content(tmp_path: Path) -> None:
    embedded = build_container(make_settings(tmp_path))
    assert isinstance(embedded.summary_writer(), OfflineSummaryWriter)
    assert embedded.analysis_service()._summary_writer is embedded.summary_writer()
    settings = make_settings(
        tmp_path, openai_api_key="sk-test", openai_vector_store_id="vs_brand", user_budget_usd=5
    )
    production = build_container(settings)
    try:
        assert isinstance(production.summary_writer(), ModelSummaryWriter)
    finally:
        await production.content_generator().aclose()
    narrowed = summary_spend_policy(settings)
    assert (narrowed.max_output_tokens, narrowed.vector_store_id) == (400, None)
    assert narrowed.user_limit_micros == 5_000_000  # the same per-user budget as content


async def test_emails_resolve_content_ids_through_the_content_store(tmp_path: Path) -> None:
    container = build_container(make_settings(tmp_path, database_url="memory://"))
    campaign = await container.campaign_service().create("u1", DRAFT)
    stored = variant(campaign.id, "u1", text="Stored copy.")
    await container.content_store().add(stored)
    job = await container.mail_service().request(
        "u1", campaign.id, to=["a@example.com"], subject="s", content_id=stored.id
    )
    assert job.payload["body"] == "Stored copy."
