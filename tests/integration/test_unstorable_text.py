"""NUL in text is a 422 on every backend: Postgres cannot store it (a DataError, a 500 before)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

from market_ai.adapters.auth.local_key import LocalKeyTokens
from market_ai.adapters.sql.engine import create_engine, migrate_database
from market_ai.container import build_container
from market_ai.entrypoints.http.app import create_app
from market_ai.settings import Settings
from tests.conftest import bearer, make_settings

pytestmark = pytest.mark.integration


@pytest.fixture(params=["sqlite", "postgres"])
async def backend(request: pytest.FixtureRequest, settings: Settings, tmp_path: Path) -> Settings:
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'db' / 'market-ai.db'}"
    else:
        url = request.getfixturevalue("fresh_postgres_url")
    chosen = make_settings(tmp_path, database_url=url)
    engine = create_engine(chosen)
    try:
        await migrate_database(engine)
    finally:
        await engine.dispose()
    return chosen.model_copy(update={"data_dir": settings.data_dir})


@asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(build_container(settings))
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]  # ASGI typing differs
    async with app.lifespan(), httpx.AsyncClient(transport=transport, base_url="http://app") as c:
        yield c


async def test_nul_in_a_name_or_audience_is_a_422_on_each_backend(
    backend: Settings, tokens: LocalKeyTokens
) -> None:
    headers = bearer(tokens, "alice")
    async with serving(backend) as client:
        for field in ("name", "audience"):
            body = {"name": "Launch", "channel": "email", field: "spring\u0000sale"}
            response = await client.post("/api/campaigns", json=body, headers=headers)
            assert response.status_code == 422, response.text
            assert response.json()["invalid-params"][0]["name"] == field
        listed = await client.get("/api/campaigns", headers=headers)
        assert listed.json() == []  # nothing half-stored
        fine = {"name": "Launch", "channel": "email", "audience": "spring sale"}
        assert (await client.post("/api/campaigns", json=fine, headers=headers)).status_code == 201
