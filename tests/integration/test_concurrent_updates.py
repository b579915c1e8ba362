"""Concurrent PATCHes to one campaign on Postgres: every write lands, none is lost."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from market_ai.adapters.auth.local_key import LocalKeyTokens
from market_ai.adapters.sql.engine import create_engine, migrate_database
from market_ai.container import build_container
from market_ai.entrypoints.http.app import create_app
from market_ai.settings import Settings
from tests.conftest import bearer, make_settings

pytestmark = pytest.mark.integration

DISTINCT_FIELDS: dict[str, Any] = {
    "name": "Renamed",
    "channel": "search",
    "budget": "1234.56",
    "currency": "EUR",
    "starts_on": "2030-01-01",
    "ends_on": "2030-12-31",
    "audience": "founders",
    "status": "active",
}
BRIEFS = [f"brief {n}" for n in range(12)]


@pytest.fixture
async def pg_settings(fresh_postgres_url: str, settings: Settings, tmp_path: Path) -> Settings:
    migrated = make_settings(tmp_path, database_url=fresh_postgres_url)
    engine = create_engine(migrated)
    try:
        await migrate_database(engine)
    finally:
        await engine.dispose()
    return migrated.model_copy(update={"data_dir": settings.data_dir})


@asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The app in this event loop (Litestar's test client would run requests one at a time)."""
    app = create_app(build_container(settings))
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]  # ASGI typing differs
    async with app.lifespan(), httpx.AsyncClient(transport=transport, base_url="http://app") as c:
        yield c


async def test_concurrent_patches_all_land(pg_settings: Settings, tokens: LocalKeyTokens) -> None:
    """Optimistic compare-and-set on `version`: a writer that loses re-reads and re-applies."""
    headers = bearer(tokens, "alice")
    async with serving(pg_settings) as client:
        await _race(client, headers)


async def _race(pg_client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    created = await pg_client.post(
        "/api/campaigns", json={"name": "Launch", "channel": "email"}, headers=headers
    )
    assert created.status_code == 201, created.text
    url = f"/api/campaigns/{created.json()['id']}"
    bodies = [{field: value} for field, value in DISTINCT_FIELDS.items()]
    bodies += [{"brief": brief} for brief in BRIEFS]

    answers = await asyncio.gather(*(pg_client.patch(url, json=b, headers=headers) for b in bodies))

    assert [a.status_code for a in answers] == [200] * len(bodies), [a.text for a in answers]
    # Each write was applied to the one before it: versions 2..21, no two alike.
    assert sorted(a.json()["version"] for a in answers) == list(range(2, len(bodies) + 2))
    final = (await pg_client.get(url, headers=headers)).json()
    assert final["version"] == 1 + len(bodies)
    assert {field: final[field] for field in DISTINCT_FIELDS} == DISTINCT_FIELDS
    assert final["brief"] in BRIEFS
