"""The campaign API through Litestar's test client, on memory adapters."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from market_ai.adapters.auth.local_key import LocalKeyTokens
from tests.conftest import bearer

Client = AsyncTestClient[Litestar]
PROBLEM = "application/problem+json"


def new_campaign(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"name": "Spring launch", "channel": "email", "budget": "1500.00"}
    body.update(overrides)
    return body


async def create(client: Client, headers: dict[str, str], **overrides: Any) -> dict[str, Any]:
    response = await client.post("/api/campaigns", json=new_campaign(**overrides), headers=headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def test_create_answers_201_with_location_and_exact_money(
    client: Client, tokens: LocalKeyTokens
) -> None:
    headers = bearer(tokens, "alice")
    response = await client.post(
        "/api/campaigns",
        json=new_campaign(budget="1500.1", currency="eur", starts_on="2026-01-01"),
        headers=headers,
    )
    assert response.status_code == 201
    body = response.json()
    assert response.headers["location"] == f"/api/campaigns/{body['id']}"
    assert body["budget"] == "1500.10"
    assert body["currency"] == "EUR"
    assert body["status"] == "draft"
    assert body["version"] == 1
    assert "owner_id" not in body
    fetched = await client.get(response.headers["location"], headers=headers)
    assert fetched.status_code == 200
    assert fetched.json() == body


async def test_list_paginates_with_headers(client: Client, tokens: LocalKeyTokens) -> None:
    headers = bearer(tokens, "alice")
    names = [f"c{i}" for i in range(5)]
    for name in names:
        await create(client, headers, name=name)
    response = await client.get("/api/campaigns?page=2&per_page=2", headers=headers)
    assert response.status_code == 200
    assert response.headers["x-total-count"] == "5"
    assert response.headers["x-page-number"] == "2"
    assert [c["name"] for c in response.json()] == ["c2", "c1"]
    past_end = await client.get("/api/campaigns?page=9&per_page=2", headers=headers)
    assert past_end.json() == []
    assert past_end.headers["x-total-count"] == "5"


async def test_list_filters_by_status_and_channel(client: Client, tokens: LocalKeyTokens) -> None:
    headers = bearer(tokens, "alice")
    await create(client, headers, name="mail", channel="email")
    await create(client, headers, name="ads", channel="search", status="active")
    by_channel = await client.get("/api/campaigns?channel=search", headers=headers)
    assert [c["name"] for c in by_channel.json()] == ["ads"]
    by_status = await client.get("/api/campaigns?status=draft", headers=headers)
    assert [c["name"] for c in by_status.json()] == ["mail"]


async def test_patch_changes_only_given_fields(client: Client, tokens: LocalKeyTokens) -> None:
    headers = bearer(tokens, "alice")
    created = await create(client, headers, audience="founders")
    url = f"/api/campaigns/{created['id']}"
    response = await client.patch(url, json={"status": "active", "audience": None}, headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "active"
    assert body["audience"] is None
    assert body["name"] == created["name"]
    assert body["version"] == 2


async def test_illegal_transition_is_422_naming_status(
    client: Client, tokens: LocalKeyTokens
) -> None:
    headers = bearer(tokens, "alice")
    created = await create(client, headers)
    url = f"/api/campaigns/{created['id']}"
    response = await client.patch(url, json={"status": "completed"}, headers=headers)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith(PROBLEM)
    assert response.json()["invalid-params"][0]["name"] == "status"
    unchanged = await client.get(url, headers=headers)
    assert unchanged.json()["status"] == "draft"


async def test_delete_then_gone(client: Client, tokens: LocalKeyTokens) -> None:
    headers = bearer(tokens, "alice")
    created = await create(client, headers)
    url = f"/api/campaigns/{created['id']}"
    assert (await client.delete(url, headers=headers)).status_code == 204
    assert (await client.get(url, headers=headers)).status_code == 404
    assert (await client.delete(url, headers=headers)).status_code == 404


async def test_another_users_campaign_is_404(client: Client, tokens: LocalKeyTokens) -> None:
    created = await create(client, bearer(tokens, "alice"))
    url = f"/api/campaigns/{created['id']}"
    mallory = bearer(tokens, "mallory")
    assert (await client.get(url, headers=mallory)).status_code == 404
    patched = await client.patch(url, json={"name": "pwned"}, headers=mallory)
    assert patched.status_code == 404
    assert (await client.delete(url, headers=mallory)).status_code == 404
    listing = await client.get("/api/campaigns", headers=mallory)
    assert listing.json() == []
    assert listing.headers["x-total-count"] == "0"
    still = await client.get(url, headers=bearer(tokens, "alice"))
    assert still.json()["name"] == created["name"]


@pytest.mark.parametrize(("sent", "stored"), [(12.5, "12.50"), (0.1, "0.10"), (1500, "1500.00")])
async def test_money_as_an_exact_json_number_is_accepted_and_returned_as_a_string(
    client: Client, tokens: LocalKeyTokens, sent: float, stored: str
) -> None:
    """As the README says: a decimal string or an exact number in, always a string out."""
    created = await create(client, bearer(tokens, "alice"), budget=sent)
    assert created["budget"] == stored


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Basic YWxpY2U6c2VjcmV0"},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer not-a-jwt"},
    ],
)
async def test_missing_or_bad_token_is_401_problem(client: Client, headers: dict[str, str]) -> None:
    response = await client.get("/api/campaigns", headers=headers)
    assert response.status_code == 401
    assert response.headers["content-type"].startswith(PROBLEM)
    assert response.headers["www-authenticate"].startswith("Bearer")
    # Answered inside the route, so it passes through the same middleware as any answer.
    assert len(response.headers["x-request-id"]) == 32


async def test_token_from_another_key_is_401(
    client: Client, tmp_path_factory: pytest.TempPathFactory
) -> None:
    stranger = LocalKeyTokens(tmp_path_factory.mktemp("other-key"))
    response = await client.get("/api/campaigns", headers=bearer(stranger, "alice"))
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "", "channel": "email"}, "name"),
        ({"name": "x" * 201, "channel": "email"}, "name"),
        ({"name": 5, "channel": "email"}, "name"),
        ({"name": "ok", "channel": "carrier-pigeon"}, "channel"),
        ({"channel": "email"}, "name"),
        ({"name": "ok", "channel": "email", "budget": "-1"}, "budget"),
        ({"name": "ok", "channel": "email", "budget": "1.234"}, "budget"),
        ({"name": "ok", "channel": "email", "budget": "lots"}, "budget"),
        ({"name": "ok", "channel": "email", "currency": "XYZ"}, "currency"),
        ({"name": "ok", "channel": "email", "starts_on": "yesterday"}, "starts_on"),
        (
            {"name": "ok", "channel": "email", "starts_on": "2026-02-01", "ends_on": "2026-01-01"},
            "ends_on",
        ),
        ({"name": "ok", "channel": "email", "status": "completed"}, "status"),
        ({"name": "ok", "channel": "email", "brief": "b" * 10_001}, "brief"),
        ({"name": "ok", "channel": "email", "owner_id": "mallory"}, "owner_id"),
    ],
)
async def test_bad_campaign_bodies_are_4xx_naming_the_field(
    client: Client, tokens: LocalKeyTokens, body: dict[str, Any], field: str
) -> None:
    response = await client.post("/api/campaigns", json=body, headers=bearer(tokens, "alice"))
    assert response.status_code in {400, 422}, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    problem = response.json()
    assert problem["status"] == response.status_code
    assert [p["name"] for p in problem["invalid-params"]] == [field]
    listing = await client.get("/api/campaigns", headers=bearer(tokens, "alice"))
    assert listing.json() == []


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("page=0", "page"),
        ("per_page=101", "per_page"),
        ("page=abc", "page"),
        ("status=x", "status"),
    ],
)
async def test_bad_list_queries_are_400_naming_the_parameter(
    client: Client, tokens: LocalKeyTokens, query: str, field: str
) -> None:
    response = await client.get(f"/api/campaigns?{query}", headers=bearer(tokens, "alice"))
    assert response.status_code == 400
    assert response.json()["invalid-params"][0]["name"] == field


async def test_malformed_json_is_400(client: Client, tokens: LocalKeyTokens) -> None:
    headers = {**bearer(tokens, "alice"), "Content-Type": "application/json"}
    response = await client.post("/api/campaigns", content=b'{"name": ', headers=headers)
    assert response.status_code == 400
    assert response.headers["content-type"].startswith(PROBLEM)


async def test_body_that_is_not_an_object_is_400(client: Client, tokens: LocalKeyTokens) -> None:
    response = await client.post("/api/campaigns", json=[1, 2], headers=bearer(tokens, "alice"))
    assert response.status_code == 400


async def test_huge_body_is_413_and_stores_nothing(client: Client, tokens: LocalKeyTokens) -> None:
    headers = {**bearer(tokens, "alice"), "Content-Type": "application/json"}
    huge = b'{"name": "x", "channel": "email", "brief": "' + b"b" * 2_000_000 + b'"}'
    response = await client.post("/api/campaigns", content=huge, headers=headers)
    assert response.status_code == 413
    assert response.headers["content-type"].startswith(PROBLEM)
    listing = await client.get("/api/campaigns", headers=bearer(tokens, "alice"))
    assert listing.json() == []


async def test_unknown_patch_field_is_refused(client: Client, tokens: LocalKeyTokens) -> None:
    headers = bearer(tokens, "alice")
    created = await create(client, headers)
    response = await client.patch(
        f"/api/campaigns/{created['id']}", json={"version": 99}, headers=headers
    )
    assert response.status_code == 400
    assert response.json()["invalid-params"][0]["name"] == "version"


async def test_every_response_carries_a_request_id(client: Client) -> None:
    echoed = await client.get("/health", headers={"X-Request-ID": "abc-123"})
    assert echoed.headers["x-request-id"] == "abc-123"
    generated = await client.get("/health", headers={"X-Request-ID": "bad id with spaces"})
    assert len(generated.headers["x-request-id"]) == 32
