"""Cached reads on real Postgres and Redis: two instances and a worker, never a stale read."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from uuid import UUID

import httpx
import pytest

from market_ai.adapters.auth.local_key import LocalKeyTokens
from market_ai.adapters.sql.engine import create_engine, migrate_database
from market_ai.container import Container, build_container, start, stop
from market_ai.domain.campaign_service import CampaignChanges, CampaignDraft
from market_ai.domain.campaigns import Channel
from market_ai.domain.errors import NotFound, PreconditionFailed
from market_ai.domain.job_registry import ANALYZE_CAMPAIGN
from market_ai.domain.jobs import JobContext
from market_ai.domain.metrics import DailyMetrics
from market_ai.entrypoints.http.app import create_app
from market_ai.settings import Settings
from tests.conftest import bearer, make_settings
from tests.servers import RedisServer

pytestmark = pytest.mark.integration
DAY = date(2025, 3, 1)
OWNER = "alice"


def _day(spend: str) -> DailyMetrics:
    return DailyMetrics(DAY, 1000, 10, 1, Decimal(spend), Decimal("40.00"))


@pytest.fixture
async def pg_url(fresh_postgres_url: str, tmp_path: Path) -> str:
    engine = create_engine(make_settings(tmp_path, database_url=fresh_postgres_url))
    try:
        await migrate_database(engine)
    finally:
        await engine.dispose()
    return fresh_postgres_url


async def _instance(settings: Settings) -> Container:
    container = build_container(settings)
    await start(container)
    return container


@pytest.fixture
async def instances(
    pg_url: str, redis_url: str, tmp_path: Path
) -> AsyncIterator[tuple[Container, Container]]:
    settings = make_settings(tmp_path, database_url=pg_url, redis_url=redis_url)
    first, second = await _instance(settings), await _instance(settings)
    try:
        yield first, second
    finally:
        await stop(first)
        await stop(second)


async def _campaign(container: Container) -> UUID:
    draft = CampaignDraft(name="Launch", channel=Channel.SEARCH)
    return (await container.campaign_service().create(OWNER, draft)).id


async def _spend(container: Container, campaign_id: UUID) -> Decimal:
    report = await container.metrics_service().report(OWNER, campaign_id, DAY, DAY)
    return report.summary.totals.spend


async def _write_behind_the_cache(container: Container, campaign_id: UUID, spend: str) -> None:
    """Change the rows without going through a service, so nothing is invalidated."""
    async with container.unit_of_work() as uow:
        await uow.metrics.upsert_many(campaign_id, [_day(spend)], container.clock().now())
        await uow.commit()


async def test_a_write_on_one_instance_is_read_fresh_on_the_other(
    instances: tuple[Container, Container],
) -> None:
    api_a, api_b = instances
    campaign_id = await _campaign(api_a)
    await api_b.metrics_service().record(OWNER, campaign_id, [_day("10.00")])
    assert await _spend(api_a, campaign_id) == Decimal("10.00")
    await _write_behind_the_cache(api_a, campaign_id, "99.00")
    assert await _spend(api_a, campaign_id) == Decimal("10.00"), "served from the cache"
    assert await _spend(api_b, campaign_id) == Decimal("10.00"), "shared through Redis"

    await api_b.metrics_service().record(OWNER, campaign_id, [_day("20.00")])
    assert await _spend(api_a, campaign_id) == Decimal("20.00"), "the write invalidated it"

    await _write_behind_the_cache(api_a, campaign_id, "99.00")
    await api_b.campaign_service().update(OWNER, campaign_id, CampaignChanges(name="Renamed"))
    assert await _spend(api_a, campaign_id) == Decimal("99.00"), "a campaign write too"

    await api_b.campaign_service().delete(OWNER, campaign_id)
    with pytest.raises(NotFound):
        await _spend(api_a, campaign_id)


async def test_an_analysis_stored_by_a_worker_is_read_fresh_by_every_instance(
    instances: tuple[Container, Container],
) -> None:
    api, worker = instances
    campaign_id = await _campaign(api)
    analyses = api.analysis_service()

    async def analyse() -> UUID:
        job = await analyses.request(OWNER, campaign_id)
        ctx = JobContext(job.id, 1, OWNER, ANALYZE_CAMPAIGN, job.payload)
        await worker.analysis_service().run(ctx)  # what the worker process's handler calls
        return job.id

    first = await analyse()
    assert (await analyses.latest(OWNER, campaign_id)).job_id == first
    assert (await analyses.latest(OWNER, campaign_id)).job_id == first
    second = await analyse()
    assert (await analyses.latest(OWNER, campaign_id)).job_id == second


async def test_if_match_is_atomic_with_the_write_on_postgres(
    instances: tuple[Container, Container],
) -> None:
    """Twenty writers holding version 1 race: exactly one lands, the rest are 412s."""
    api_a, api_b = instances
    campaign_id = await _campaign(api_a)

    async def patch(n: int) -> bool:
        service = (api_a if n % 2 else api_b).campaign_service()
        try:
            await service.update(OWNER, campaign_id, CampaignChanges(brief=f"b{n}"), if_version={1})
        except PreconditionFailed:
            return False
        return True

    results = await asyncio.gather(*(patch(n) for n in range(20)))
    assert results.count(True) == 1
    current = await api_a.campaign_service().get(OWNER, campaign_id)
    assert current.version == 2

    async def delete() -> bool:
        try:
            await api_b.campaign_service().delete(OWNER, campaign_id, if_version={2})
        except PreconditionFailed:
            return False
        return True

    async def rename() -> bool:
        try:
            await api_a.campaign_service().update(
                OWNER, campaign_id, CampaignChanges(name="Late"), if_version={2}
            )
        except (PreconditionFailed, NotFound):
            return False
        return True

    outcomes = await asyncio.gather(delete(), rename())
    assert outcomes.count(True) == 1, outcomes


async def test_reads_answer_from_the_database_when_redis_stops(pg_url: str, tmp_path: Path) -> None:
    with RedisServer(config={"maxmemory-policy": "noeviction"}) as redis:
        settings = make_settings(tmp_path, database_url=pg_url, redis_url=redis.url)
        api = await _instance(settings)
        try:
            campaign_id = await _campaign(api)
            await api.metrics_service().record(OWNER, campaign_id, [_day("10.00")])
            assert await _spend(api, campaign_id) == Decimal("10.00")
            redis.stop()
            assert await _spend(api, campaign_id) == Decimal("10.00")
            await api.metrics_service().record(OWNER, campaign_id, [_day("30.00")])
            assert await _spend(api, campaign_id) == Decimal("30.00"), "straight from Postgres"
            with pytest.raises(NotFound):
                await api.analysis_service().latest(OWNER, campaign_id)
        finally:
            await stop(api)


@asynccontextmanager
async def _app(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(build_container(settings))
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]  # ASGI typing differs
    async with app.lifespan(), httpx.AsyncClient(transport=transport, base_url="http://app") as c:
        yield c


async def test_a_tag_from_one_instance_revalidates_on_another(
    pg_url: str, redis_url: str, tmp_path: Path, tokens: LocalKeyTokens
) -> None:
    settings = make_settings(tmp_path, database_url=pg_url, redis_url=redis_url)
    alice = bearer(tokens, OWNER)
    async with _app(settings) as first, _app(settings) as second:
        created = await first.post(
            "/api/campaigns", json={"name": "Launch", "channel": "search"}, headers=alice
        )
        metrics = f"/api/campaigns/{created.json()['id']}/metrics"
        etag = (await first.get(metrics, headers=alice)).headers["etag"]
        again = await second.get(metrics, headers={**alice, "If-None-Match": etag})
        assert again.status_code == 304
        row = {
            "date": datetime.now(UTC).date().isoformat(),
            "impressions": 1,
            "clicks": 1,
            "conversions": 0,
            "spend": "1.00",
            "revenue": "0",
        }
        await first.post(metrics, json={"rows": [row]}, headers=alice)
        fresh = await second.get(metrics, headers={**alice, "If-None-Match": etag})
        assert fresh.status_code == 200, "the write on the first made the second's read fresh"
        assert fresh.json()["totals"]["spend"] == "1.00"
