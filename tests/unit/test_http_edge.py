"""The HTTP edge: CORS, security headers on every answer, and docs hidden in production."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from pydantic import ValidationError

from market_ai.adapters.auth.local_key import LocalKeyTokens
from market_ai.container import build_container
from market_ai.entrypoints.http.app import EXPOSED_HEADERS, create_app
from market_ai.settings import describe_validation_error
from tests.conftest import bearer, make_settings
from tests.tokens import ISSUER, public_pem, rsa_key

Client = AsyncTestClient[Litestar]
APP_ORIGIN = "https://app.example.com"
ELSEWHERE = "https://evil.example.net"
PREFLIGHT = {
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "authorization, content-type",
}
ALWAYS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
}


@asynccontextmanager
async def serving(tmp_path: Path, **values: object) -> AsyncIterator[Client]:
    settings = make_settings(tmp_path, database_url="memory://", **values)
    async with AsyncTestClient(create_app(build_container(settings))) as client:
        yield client


def production() -> dict[str, object]:
    return {
        "app_env": "production",
        "clerk_jwt_key": public_pem(rsa_key("edge")),
        "clerk_issuer": ISSUER,
    }


@pytest.fixture
async def cors_client(tmp_path: Path) -> AsyncIterator[Client]:
    async with serving(tmp_path, allowed_origins=[APP_ORIGIN]) as client:
        yield client


# CORS


async def test_preflight_on_api_answers_without_a_token(cors_client: Client) -> None:
    response = await cors_client.options(
        "/api/campaigns", headers={"Origin": APP_ORIGIN, **PREFLIGHT}
    )
    assert response.status_code in {200, 204}
    assert response.headers["access-control-allow-origin"] == APP_ORIGIN
    assert response.headers["access-control-allow-credentials"] == "true"
    allowed = response.headers["access-control-allow-headers"].lower()
    assert "authorization" in allowed
    assert "content-type" in allowed
    assert "POST" in response.headers["access-control-allow-methods"]


async def test_listed_origin_may_read_pagination_and_job_headers(
    cors_client: Client, tmp_path: Path
) -> None:
    tokens = LocalKeyTokens(tmp_path)
    response = await cors_client.get(
        "/api/campaigns", headers={"Origin": APP_ORIGIN, **bearer(tokens, "alice")}
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == APP_ORIGIN
    assert response.headers["access-control-allow-credentials"] == "true"
    exposed = {
        h.strip().lower() for h in response.headers["access-control-expose-headers"].split(",")
    }
    assert {h.lower() for h in EXPOSED_HEADERS} <= exposed
    assert {"x-total-count", "x-page-number", "location", "retry-after", "x-request-id"} <= exposed
    assert "origin" in response.headers.get("vary", "").lower()


async def test_a_401_is_readable_by_the_listed_origin(cors_client: Client) -> None:
    response = await cors_client.get("/api/campaigns", headers={"Origin": APP_ORIGIN})
    assert response.status_code == 401
    assert response.headers["access-control-allow-origin"] == APP_ORIGIN


@pytest.mark.parametrize("method", ["GET", "OPTIONS"])
async def test_an_unlisted_origin_gets_no_cors_grant(cors_client: Client, method: str) -> None:
    headers = {"Origin": ELSEWHERE, **(PREFLIGHT if method == "OPTIONS" else {})}
    response = await cors_client.request(method, "/api/campaigns", headers=headers)
    assert "access-control-allow-origin" not in response.headers  # so the browser refuses


@pytest.mark.parametrize(
    ("origin", "extra", "names"),
    [
        (ELSEWHERE, {}, ["Origin"]),
        (APP_ORIGIN, {"Access-Control-Request-Method": "TRACE"}, ["Access-Control-Request-Method"]),
        (
            APP_ORIGIN,
            {"Access-Control-Request-Headers": "x-evil"},
            ["Access-Control-Request-Headers"],
        ),
    ],
)
async def test_a_refused_preflight_is_problem_details_naming_the_header(
    cors_client: Client, origin: str, extra: dict[str, str], names: list[str]
) -> None:
    headers = {"Origin": origin, **PREFLIGHT, **extra}
    response = await cors_client.options("/api/campaigns", headers=headers)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["type"] == "urn:market-ai:problem:validation"
    assert [p["name"] for p in body["invalid-params"]] == names
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_without_allowed_origins_no_cors_header_is_sent(tmp_path: Path) -> None:
    async with serving(tmp_path) as client:
        for origin in (APP_ORIGIN, ELSEWHERE):
            response = await client.get("/health", headers={"Origin": origin})
            assert "access-control-allow-origin" not in response.headers


def test_a_wildcard_origin_is_refused_at_start_up(tmp_path: Path) -> None:
    with pytest.raises(ValidationError) as caught:
        make_settings(tmp_path, allowed_origins="https://app.example.com,*")
    assert "ALLOWED_ORIGINS" in describe_validation_error(caught.value)
    assert "credentials" in describe_validation_error(caught.value)


# security headers


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/health", 200),
        ("GET", "/api/campaigns", 401),
        ("GET", "/no/such/route", 404),
        ("DELETE", "/health", 405),
        ("OPTIONS", "/api/campaigns", 204),
    ],
)
async def test_every_answer_carries_the_security_headers(
    cors_client: Client, method: str, path: str, status: int
) -> None:
    headers = {"Origin": APP_ORIGIN, **PREFLIGHT} if method == "OPTIONS" else {}
    response = await cors_client.request(method, path, headers=headers)
    assert response.status_code == status
    for name, value in ALWAYS.items():
        assert response.headers[name] == value
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert "strict-transport-security" not in response.headers, "HSTS is for production only"


async def test_user_data_is_revalidated_and_errors_are_not_stored(
    cors_client: Client, tmp_path: Path
) -> None:
    tokens = LocalKeyTokens(tmp_path)
    listed = await cors_client.get(
        "/api/campaigns", headers={"Origin": APP_ORIGIN, **bearer(tokens, "alice")}
    )
    assert listed.headers["cache-control"] == "private, no-cache"
    assert "ETag" in listed.headers["access-control-expose-headers"]
    refused = await cors_client.get("/api/campaigns")
    assert refused.headers["cache-control"] == "no-store"


async def test_an_oversized_body_is_413_with_the_security_headers(
    cors_client: Client, tmp_path: Path
) -> None:
    body = b"x" * (2 * 1_048_576)
    tokens = LocalKeyTokens(tmp_path)
    headers = {**bearer(tokens, "alice"), "Content-Type": "application/json"}
    response = await cors_client.post("/api/campaigns", content=body, headers=headers)
    assert response.status_code == 413
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_production_adds_hsts_and_hides_the_docs(tmp_path: Path) -> None:
    async with serving(tmp_path, **production()) as client:
        health = await client.get("/health")
        assert health.headers["strict-transport-security"].startswith("max-age=")
        for path in ("/schema", "/schema/openapi.json", "/schema/swagger"):
            assert (await client.get(path)).status_code == 404


async def test_development_serves_the_docs(tmp_path: Path) -> None:
    async with serving(tmp_path) as client:
        schema = await client.get("/schema/openapi.json")
        assert schema.status_code == 200
        assert "/api/campaigns" in schema.json()["paths"]
        docs = await client.get("/schema")
        assert docs.status_code == 200
        assert docs.headers["content-security-policy"] == "frame-ancestors 'none'"
