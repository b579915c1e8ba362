"""One error contract: every 4xx is problem details typed from one list, the culprit named."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from market_ai.adapters.auth.local_key import LocalKeyTokens
from market_ai.entrypoints.http.problem_types import PROBLEM_TYPES, for_status
from tests.conftest import bearer

Client = AsyncTestClient[Litestar]
PROBLEM = "application/problem+json"
README = Path(__file__).resolve().parents[2] / "README.md"
TYPES = {kind.uri for kind in PROBLEM_TYPES}
JSON = {"Content-Type": "application/json"}


async def _campaign(client: Client, headers: dict[str, str]) -> str:
    body = {"name": "Launch", "channel": "email"}
    created = await client.post("/api/campaigns", json=body, headers=headers)
    assert created.status_code == 201, created.text
    campaign_id: str = created.json()["id"]
    return campaign_id


async def _json_routes(client: Client, campaign_id: str) -> list[tuple[str, str]]:
    """Every operation of the schema that takes a JSON body, with real ids filled in."""
    paths = (await client.get("/schema/openapi.json")).json()["paths"]
    return [
        (method.upper(), re.sub(r"\{[^}]+\}", campaign_id, path))
        for path, item in paths.items()
        for method, operation in item.items()
        if "application/json" in operation.get("requestBody", {}).get("content", {})
    ]


def _assert_problem(response: Any, status: int, *, names: list[str] | None = None) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["type"] in TYPES, body
    assert body["status"] == status
    if names is not None:
        assert [p["name"] for p in body["invalid-params"]] == names, body


async def test_an_empty_body_on_any_json_route_says_the_body_is_required(
    client: Client, tokens: LocalKeyTokens
) -> None:
    headers = {**bearer(tokens, "alice"), **JSON}
    routes = await _json_routes(client, await _campaign(client, headers))
    assert len(routes) >= 5  # campaigns (POST, PATCH), metrics, emails, content
    for method, path in routes:
        response = await client.request(method, path, content=b"", headers=headers)
        _assert_problem(response, 400, names=["body"])
        body = response.json()
        assert body["type"] == "urn:market-ai:problem:validation"
        assert body["detail"] == "body: a JSON body is required", (method, path)
        assert body["invalid-params"][0]["reason"] == "a JSON body is required"
        assert "data" not in response.text


@pytest.mark.parametrize(
    "content",
    [b'{"name": ', b'{"name": "\xff"}', b"\xef\xbb"],
    ids=["malformed-json", "bad-utf8", "truncated"],
)
async def test_a_body_that_does_not_decode_is_a_validation_problem_naming_the_body(
    client: Client, tokens: LocalKeyTokens, content: bytes
) -> None:
    headers = {**bearer(tokens, "alice"), **JSON}
    response = await client.post("/api/campaigns", content=content, headers=headers)
    _assert_problem(response, 400, names=["body"])
    assert response.json()["type"] == "urn:market-ai:problem:validation"
    assert response.json()["detail"].startswith("body: ")


async def test_a_body_too_large_is_its_own_type_and_names_the_body(
    client: Client, tokens: LocalKeyTokens
) -> None:
    headers = {**bearer(tokens, "alice"), **JSON}
    huge = b'{"name": "' + b"x" * 2_000_000 + b'"}'
    response = await client.post("/api/campaigns", content=huge, headers=headers)
    _assert_problem(response, 413, names=["body"])
    body = response.json()
    assert body["type"] == "urn:market-ai:problem:body-too-large"
    assert body["invalid-params"][0]["reason"] == "must be at most 1048576 bytes"


@pytest.mark.parametrize(
    ("authorization", "detail"),
    [
        (None, "missing bearer token"),
        ("Bearer abc.def.ghi", "malformed token"),
        ("Bearer not-a-jwt", "malformed token"),
    ],
)
async def test_a_refused_token_names_the_header_in_our_words(
    client: Client, authorization: str | None, detail: str
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    response = await client.get("/api/campaigns", headers=headers)
    _assert_problem(response, 401, names=["Authorization"])
    body = response.json()
    assert body["type"] == "urn:market-ai:problem:unauthenticated"
    assert body["detail"] == detail
    challenge = response.headers["www-authenticate"]
    for leak in ("codec", "utf-8", "0xb7", "Invalid header"):
        assert leak not in response.text
        assert leak not in challenge


async def test_framework_answers_carry_a_type_from_the_list(
    client: Client, tokens: LocalKeyTokens
) -> None:
    alice = bearer(tokens, "alice")
    no_route = await client.get("/api/nothing-here", headers=alice)
    _assert_problem(no_route, 404)
    assert no_route.json()["type"] == "urn:market-ai:problem:not-found"
    wrong_method = await client.put("/api/campaigns", headers=alice)
    _assert_problem(wrong_method, 405)
    assert wrong_method.json()["type"] == "urn:market-ai:problem:method-not-allowed"
    bad_path = await client.get("/api/jobs/not-a-uuid", headers=alice)
    assert bad_path.status_code in {400, 404}
    _assert_problem(bad_path, bad_path.status_code)


async def test_a_rule_broken_is_422_invalid_input_and_a_schema_miss_is_400_validation(
    client: Client, tokens: LocalKeyTokens
) -> None:
    alice = bearer(tokens, "alice")
    wrong_type = await client.post("/api/campaigns", json={"name": 5}, headers=alice)
    _assert_problem(wrong_type, 400, names=["name"])
    assert wrong_type.json()["type"] == "urn:market-ai:problem:validation"
    broken_rule = await client.post(
        "/api/campaigns", json={"name": "x", "channel": "email", "budget": "-1"}, headers=alice
    )
    _assert_problem(broken_rule, 422, names=["budget"])
    assert broken_rule.json()["type"] == "urn:market-ai:problem:invalid-input"


async def test_a_reused_idempotency_key_is_a_conflict_naming_the_header(
    client: Client, tokens: LocalKeyTokens
) -> None:
    alice = bearer(tokens, "alice")
    campaign_id = await _campaign(client, alice)
    keyed = {**alice, "Idempotency-Key": "k-1"}
    first = await client.post(f"/api/campaigns/{campaign_id}/analysis", headers=keyed)
    assert first.status_code == 202
    other = await client.post(
        f"/api/campaigns/{campaign_id}/content", json={"kind": "email"}, headers=keyed
    )
    _assert_problem(other, 409, names=["Idempotency-Key"])
    detail = other.json()["detail"]
    assert " a analyze" not in detail
    assert first.json()["id"] in detail


async def test_a_bad_header_is_named_as_the_client_sends_it(
    client: Client, tokens: LocalKeyTokens
) -> None:
    alice = bearer(tokens, "alice")
    campaign_id = await _campaign(client, alice)
    too_long = {**alice, "Idempotency-Key": "k" * 300}
    response = await client.post(f"/api/campaigns/{campaign_id}/analysis", headers=too_long)
    _assert_problem(response, 400, names=["Idempotency-Key"])  # not the handler's idempotency_key
    bad_length = {**alice, **JSON, "Content-Length": "abc"}
    response = await client.post("/api/campaigns", content=b"{}", headers=bad_length)
    _assert_problem(response, 400, names=["Content-Length"])


def test_every_status_maps_to_a_listed_type() -> None:
    for status in (400, 401, 403, 404, 405, 406, 409, 413, 415, 422, 429, 500, 503):
        assert for_status(status).uri in TYPES


def test_the_readme_lists_exactly_the_problem_types() -> None:
    text = README.read_text()
    documented = dict(
        re.findall(r"^\| `urn:market-ai:problem:([a-z-]+)` \| (\d{3}) \|", text, re.MULTILINE)
    )
    assert documented == {kind.slug: str(kind.status) for kind in PROBLEM_TYPES}
