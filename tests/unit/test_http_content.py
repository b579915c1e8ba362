"""Content over HTTP: 202 + Location, idempotent repeats, named validation errors, tenancy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from dependency_injector import providers
from litestar import Litestar
from litestar.testing import AsyncTestClient

from market_ai.adapters.auth.local_key import LocalKeyTokens
from market_ai.container import Container, generator_kind
from market_ai.domain.spend_guard import SpendPolicy
from market_ai.entrypoints.http.app import create_app
from tests.conftest import bearer, make_settings
from tests.content_rig import RecordingGenerator
from tests.job_rig import eventually

Client = AsyncTestClient[Litestar]


async def _campaign(client: Client, headers: dict[str, str]) -> str:
    body = {"name": "Spring sale", "channel": "email", "audience": "new parents"}
    response = await client.post("/api/campaigns", json=body, headers=headers)
    assert response.status_code == 201
    return str(response.json()["id"])


async def _job(client: Client, job_id: str, headers: dict[str, str]) -> dict[str, Any]:
    job: dict[str, Any] = {}

    async def finished() -> bool:
        nonlocal job
        job = (await client.get(f"/api/jobs/{job_id}", headers=headers)).json()
        return job["status"] in {"succeeded", "dead"}

    await eventually(finished)
    return job


async def test_a_request_is_accepted_run_offline_and_listed(
    client: Client, tokens: LocalKeyTokens
) -> None:
    headers = bearer(tokens, "alice")
    campaign = await _campaign(client, headers)

    response = await client.post(
        f"/api/campaigns/{campaign}/content",
        json={"kind": "social_post", "tone": "playful", "variants": 2},
        headers=headers,
    )

    assert response.status_code == 202
    job_id = response.json()["id"]
    assert response.headers["Location"] == f"/api/jobs/{job_id}"
    job = await _job(client, job_id, headers)
    assert job["status"] == "succeeded"
    assert job["result"]["cost_usd"] == "0.000000"
    assert job["result"]["models"] == ["offline"]
    listed = await client.get(f"/api/campaigns/{campaign}/content", headers=headers)
    assert listed.status_code == 200
    assert listed.headers["X-Total-Count"] == "2"
    variants = listed.json()
    assert {v["model"] for v in variants} == {"offline"}
    assert {v["cost_usd"] for v in variants} == {"0.000000"}
    assert all("Spring sale" in v["text"] and v["job_id"] == job_id for v in variants)


async def test_the_same_idempotency_key_returns_the_same_job(
    client: Client, tokens: LocalKeyTokens
) -> None:
    headers = bearer(tokens, "alice")
    campaign = await _campaign(client, headers)
    url = f"/api/campaigns/{campaign}/content"
    keyed = headers | {"Idempotency-Key": "launch-copy-1"}

    first = await client.post(url, json={"kind": "email"}, headers=keyed)
    again = await client.post(url, json={"kind": "email"}, headers=keyed)
    fresh = await client.post(url, json={"kind": "email"}, headers=headers)
    other = await client.post(url, json={"kind": "ad_copy"}, headers=keyed)

    assert (first.status_code, again.status_code) == (202, 202)
    assert again.json()["id"] == first.json()["id"]
    assert fresh.json()["id"] != first.json()["id"]
    assert other.status_code == 409


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "poem"}, "kind"),
        ({"kind": "email", "variants": 6}, "variants"),
        ({"kind": "email", "tone": ""}, "tone"),
        ({"kind": "email", "tone": "   "}, "tone"),
        ({"kind": "email", "colour": "red"}, "colour"),
        ({}, "kind"),
        ({"kind": "email", "tone": "warm\u0000"}, "tone"),  # was 202, then five paid calls
        ({"kind": "email", "brief": "Sale\u0000"}, "brief"),
    ],
)
async def test_bad_requests_name_the_field(
    client: Client, tokens: LocalKeyTokens, body: dict[str, Any], field: str
) -> None:
    headers = bearer(tokens, "alice")
    campaign = await _campaign(client, headers)
    response = await client.post(f"/api/campaigns/{campaign}/content", json=body, headers=headers)
    assert response.status_code in {400, 422}
    assert [p["name"] for p in response.json()["invalid-params"]] == [field]


async def test_another_users_campaign_is_404(client: Client, tokens: LocalKeyTokens) -> None:
    campaign = await _campaign(client, bearer(tokens, "alice"))
    for method in ("get", "post"):
        response = await getattr(client, method)(
            f"/api/campaigns/{campaign}/content",
            headers=bearer(tokens, "mallory"),
            **({"json": {"kind": "email"}} if method == "post" else {}),
        )
        assert response.status_code == 404


async def test_over_the_per_request_budget_is_a_422_problem_and_no_job(
    container: Container, tokens: LocalKeyTokens
) -> None:
    generator = RecordingGenerator()
    container.content_generator.override(providers.Object(generator))
    tight = SpendPolicy(
        model="gpt-4o", max_output_tokens=800, max_tool_calls=2, request_limit_micros=1_000
    )
    container.spend_guard.add_kwargs(policy=tight)
    headers = bearer(tokens, "alice")
    async with AsyncTestClient(create_app(container)) as client:
        campaign = await _campaign(client, headers)
        response = await client.post(
            f"/api/campaigns/{campaign}/content", json={"kind": "email"}, headers=headers
        )
    assert response.status_code == 422
    problem = response.json()
    assert "MAX_BUDGET_PER_REQUEST" in problem["detail"]
    assert problem["type"].endswith("budget-exceeded")
    assert (await container.job_service().figures()).queued == 0
    assert generator.calls == []


def test_the_generator_is_chosen_by_the_api_key(tmp_path: Path) -> None:
    assert generator_kind(make_settings(tmp_path)) == "offline"
    assert generator_kind(make_settings(tmp_path, openai_api_key="sk-test")) == "openai"
