"""GET /metrics: bounded labels, the token rule, jobs, AI spend and rate-limit refusals."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from uuid import uuid4

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from prometheus_client.parser import text_string_to_metric_families

from market_ai.adapters.auth.local_key import LocalKeyTokens
from market_ai.container import Container, build_container
from market_ai.domain.content_ports import Generation
from market_ai.domain.spend import Usage
from market_ai.entrypoints.http.app import create_app
from market_ai.settings import SettingsError, load_settings
from tests.conftest import bearer, make_settings
from tests.job_rig import eventually
from tests.tokens import ISSUER, public_pem, rsa_key

Client = AsyncTestClient[Litestar]
TOKEN = "scrape-me-please-0123456789"
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def samples(text: str) -> Samples:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(found: Samples, name: str, **labels: str) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


@asynccontextmanager
async def serving(tmp_path: Path, **values: object) -> AsyncIterator[tuple[Client, Container]]:
    settings = make_settings(tmp_path, database_url="memory://", **values)
    container = build_container(settings)
    async with AsyncTestClient(create_app(container)) as client:
        yield client, container


async def scrape(client: Client, token: str | None = None) -> Samples:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return samples(response.text)


async def test_requests_are_counted_by_route_template_never_by_raw_path(tmp_path: Path) -> None:
    async with serving(tmp_path, metrics_enabled=True) as (client, _):
        headers = bearer(LocalKeyTokens(tmp_path), "alice")
        before = await scrape(client)
        missing = uuid4()
        for _ in range(3):
            await client.get(f"/api/campaigns/{missing}", headers=headers)
        after = await scrape(client)
    route = "/api/campaigns/{campaign_id}"
    counted = "market_ai_http_requests_total"
    labels = {"route": route, "method": "GET", "status": "404"}
    assert value(after, counted, **labels) - value(before, counted, **labels) == 3
    timed = value(after, "market_ai_http_request_duration_seconds_count", route=route, method="GET")
    assert timed >= 3
    assert not any(str(missing) in str(labels) for _, labels in after)  # bounded label sets


async def test_the_job_figures_are_read_at_scrape_time(tmp_path: Path) -> None:
    async with serving(tmp_path, metrics_enabled=True, worker_embedded=False) as (client, c):
        await c.job_service().submit("alice", "noop")
        found = await scrape(client)
    assert value(found, "market_ai_job_figures_up") == 1
    assert value(found, "market_ai_jobs_waiting", state="queued") == 1
    assert value(found, "market_ai_jobs_dead") == 0
    assert value(found, "market_ai_workers_live") == 0
    assert value(found, "market_ai_jobs_oldest_waiting_seconds") >= 0


async def test_jobs_are_counted_by_type_and_outcome_with_run_time_and_wait(tmp_path: Path) -> None:
    async with serving(tmp_path, metrics_enabled=True) as (client, container):
        before = await scrape(client)
        job = await container.job_service().submit("alice", "noop")

        async def done() -> bool:
            return (await container.job_service().get("alice", job.id)).status == "succeeded"

        await eventually(done)
        after = await scrape(client)
    name = "market_ai_jobs_total"
    assert (
        value(after, name, type="noop", outcome="succeeded")
        - value(before, name, type="noop", outcome="succeeded")
        == 1
    )
    for histogram in ("market_ai_job_run_seconds_count", "market_ai_job_queue_wait_seconds_count"):
        assert value(after, histogram, type="noop") - value(before, histogram, type="noop") == 1


async def test_rate_limit_refusals_are_counted(tmp_path: Path) -> None:
    async with serving(tmp_path, metrics_enabled=True, rate_limit_default="2/minute") as (
        client,
        _,
    ):
        before = await scrape(client)
        for _ in range(3):
            await client.get("/api/campaigns")
        after = await scrape(client)  # a scraper is never limited itself
    name, route = "market_ai_rate_limit_refusals_total", "/api/campaigns"
    assert value(after, name, route=route) - value(before, name, route=route) == 1


async def test_ai_calls_count_tokens_and_usd_by_model(tmp_path: Path) -> None:
    async with serving(tmp_path, metrics_enabled=True) as (client, container):
        before = await scrape(client)
        usage = Usage(input_tokens=1000, cached_tokens=400, output_tokens=500)
        generation = Generation(text="Hi", model="gpt-4o-mini", usage=usage)
        micros = container.spend_guard().cost(generation)
        after = await scrape(client)
    assert micros == 420  # 600 x 0.15 + 400 x 0.075 + 500 x 0.60 per 1M tokens

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    tokens = "market_ai_ai_tokens_total"
    assert grew(tokens, model="gpt-4o-mini", kind="input") == 600
    assert grew(tokens, model="gpt-4o-mini", kind="cached_input") == 400
    assert grew(tokens, model="gpt-4o-mini", kind="output") == 500
    assert grew("market_ai_ai_cost_usd_total", model="gpt-4o-mini") == pytest.approx(0.00042)


async def test_with_a_token_a_scrape_must_bring_it(tmp_path: Path) -> None:
    async with serving(tmp_path, metrics_token=TOKEN) as (client, _):
        assert (await client.get("/metrics")).status_code == 401
        wrong = await client.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        assert wrong.headers["content-type"] == "application/problem+json"
        assert value(await scrape(client, TOKEN), "market_ai_job_figures_up") == 1


async def test_metrics_are_off_by_default(tmp_path: Path) -> None:
    async with serving(tmp_path) as (client, _):
        assert (await client.get("/metrics")).status_code == 404


def test_production_refuses_metrics_without_a_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("CLERK_JWT_KEY", public_pem(rsa_key("metrics")))
    monkeypatch.setenv("CLERK_ISSUER", ISSUER)
    monkeypatch.setenv("METRICS_ENABLED", "true")
    with pytest.raises(SettingsError, match="METRICS_TOKEN"):
        load_settings(_env_file=None)
    monkeypatch.setenv("METRICS_TOKEN", TOKEN)
    assert load_settings(_env_file=None).metrics_on


def test_an_unconfigured_process_never_imports_prometheus_or_sentry(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from market_ai.container import build_container\n"
        "from market_ai.entrypoints.http.app import create_app\n"
        "from market_ai.entrypoints.worker import build_worker\n"
        "from market_ai.settings import Settings\n"
        f"c = build_container(Settings(_env_file=None, data_dir={str(tmp_path)!r},"
        " database_url='memory://'))\n"
        "create_app(c); build_worker(c); c.spend_guard()\n"
        "print(sorted(m for m in sys.modules if m.startswith(('prometheus', 'sentry'))))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path
    )
    assert result.stdout.strip() == "[]"
