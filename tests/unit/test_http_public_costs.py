"""Public, unlimited routes cost little: docs rendered once, detailed health shared, host hidden."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from litestar.testing import AsyncTestClient

from market_ai.container import build_container
from market_ai.entrypoints.http import detailed_health as detailed_module
from market_ai.entrypoints.http.app import create_app
from market_ai.entrypoints.http.detailed_health import DetailedHealth
from market_ai.entrypoints.http.system import system_figures
from market_ai.settings import Settings
from tests.conftest import make_settings
from tests.tokens import ISSUER, public_pem, rsa_key

OPERATOR = "operator-token-0123456789abcdef"


@asynccontextmanager
async def concurrent_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The app in this event loop, so gathered requests really overlap."""
    app = create_app(build_container(settings))
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]  # ASGI typing differs
    async with app.lifespan(), httpx.AsyncClient(transport=transport, base_url="http://app") as c:
        yield c


def _production(tmp_path: Path, **values: object) -> Settings:
    return make_settings(
        tmp_path,
        database_url="memory://",
        app_env="production",
        clerk_jwt_key=public_pem(rsa_key("ops")),
        clerk_issuer=ISSUER,
        **values,
    )


async def test_the_yaml_schema_is_rendered_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dumps: list[int] = []
    real_dump = yaml.dump

    def counting_dump(*args: Any, **kwargs: Any) -> Any:
        dumps.append(1)
        return real_dump(*args, **kwargs)

    monkeypatch.setattr(yaml, "dump", counting_dump)
    settings = make_settings(tmp_path, database_url="memory://")
    async with AsyncTestClient(create_app(build_container(settings))) as client:
        bodies = [(await client.get("/schema/openapi.yaml")).text for _ in range(3)]
        page = await client.get("/schema")
        again = await client.get("/schema")
    assert len(dumps) == 1
    assert bodies[0] == bodies[1] == bodies[2]
    assert "/api/campaigns" in yaml.safe_load(bodies[0])["paths"]
    assert page.status_code == 200
    assert "redoc" in page.text.lower(), "/schema still serves the ReDoc page"
    assert again.text == page.text


async def test_concurrent_detailed_probes_share_one_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    real = system_figures

    def counting() -> dict[str, Any]:
        calls.append(1)
        return real()

    monkeypatch.setattr(detailed_module, "system_figures", counting)
    async with concurrent_client(make_settings(tmp_path, database_url="memory://")) as client:
        answers = await asyncio.gather(*(client.get("/health/detailed") for _ in range(20)))
        assert {a.status_code for a in answers} == {200}
        assert len(calls) == 1
        assert len({a.text for a in answers}) == 1


async def test_a_shared_report_is_reused_only_for_its_window(tmp_path: Path) -> None:
    container = build_container(make_settings(tmp_path, database_url="memory://"))
    lasting = DetailedHealth(
        container.health_service,
        container.job_monitor,
        operator_token=None,
        host_figures_for_all=True,
        share_seconds=3600,
    )
    fresh = DetailedHealth(
        container.health_service,
        container.job_monitor,
        operator_token=None,
        host_figures_for_all=True,
        share_seconds=0,
    )
    for _ in range(3):
        await lasting.report()
        await fresh.report()
    assert (lasting.computed, fresh.computed) == (1, 3)


async def test_production_shows_host_figures_only_to_the_operator(tmp_path: Path) -> None:
    async with concurrent_client(_production(tmp_path, operator_token=OPERATOR)) as client:
        anonymous = (await client.get("/health/detailed")).json()
        wrong = await client.get(
            "/health/detailed", headers={"Authorization": f"Bearer {OPERATOR}x"}
        )
        operator = await client.get(
            "/health/detailed", headers={"Authorization": f"Bearer {OPERATOR}"}
        )
    assert "system" not in anonymous
    assert {"checks", "jobs"} <= set(anonymous)
    assert "system" not in wrong.json()
    assert {"cpu_percent", "process_rss_bytes"} <= set(operator.json()["system"])


async def test_production_without_an_operator_token_shows_no_host_figures(
    tmp_path: Path,
) -> None:
    async with concurrent_client(_production(tmp_path)) as client:
        body = (await client.get("/health/detailed", headers={"Authorization": "Bearer "})).json()
    assert "system" not in body


def test_a_short_operator_token_stops_start_up(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="operator_token"):
        make_settings(tmp_path, operator_token="short")
