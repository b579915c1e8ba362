"""Clerk-style RS256 tokens through the real app, keys served by a real JWKS server on loopback."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from market_ai.container import build_container
from market_ai.entrypoints.http.app import create_app
from tests.clerk_rig import Client, auth
from tests.conftest import make_settings
from tests.jwks_server import JwksServer
from tests.tokens import (
    ISSUER,
    ORIGIN,
    hmac_with_public_key,
    public_pem,
    rsa_key,
    sign,
    tampered,
    unsigned,
)

pytestmark = pytest.mark.integration
PROBLEM = "application/problem+json"


async def assert_401(client: Client, token: str, reason: str = "") -> None:
    response = await client.get("/api/campaigns", headers=auth(token))
    assert response.status_code == 401, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith('Bearer realm="market-ai", error="invalid_token"')
    assert reason in response.json()["detail"]


async def test_a_valid_token_is_accepted_and_its_sub_is_the_user(
    client: Client, jwks: JwksServer
) -> None:
    alice, bob = auth(sign(rsa_key("clerk-1"))), auth(sign(rsa_key("clerk-1"), sub="user_bob"))
    created = await client.post(
        "/api/campaigns", json={"name": "Launch", "channel": "email"}, headers=alice
    )
    assert created.status_code == 201, created.text
    assert [c["name"] for c in (await client.get("/api/campaigns", headers=alice)).json()] == [
        "Launch"
    ]
    assert (await client.get("/api/campaigns", headers=bob)).json() == []
    assert (await client.get(created.headers["location"], headers=bob)).status_code == 404
    assert jwks.fetches == 1, "keys are cached by kid: one fetch for every request"


async def test_skew_within_the_leeway_is_tolerated(client: Client) -> None:
    now = datetime.now(UTC)
    token = sign(rsa_key("clerk-1"), exp=now - timedelta(seconds=5), nbf=now + timedelta(seconds=5))
    assert (await client.get("/api/campaigns", headers=auth(token))).status_code == 200


def _forged(kind: str) -> str:
    key, now = rsa_key("clerk-1"), datetime.now(UTC)
    late = now + timedelta(minutes=10)
    forged: dict[str, Any] = {
        "expired": lambda: sign(key, exp=now - timedelta(minutes=5), iat=now - timedelta(hours=1)),
        "not yet valid": lambda: sign(key, nbf=late, iat=now, exp=late + timedelta(minutes=5)),
        "wrong issuer": lambda: sign(key, iss="https://evil.example.test"),
        "wrong azp": lambda: sign(key, azp="https://evil.example.test"),
        "audience": lambda: sign(key, aud="https://other-api.example.test"),
        "pending session": lambda: sign(key, sts="pending"),
        "missing sub": lambda: sign(key, sub=None),
        "empty sub": lambda: sign(key, sub=""),
        "missing exp": lambda: sign(key, exp=None),
        "alg none": unsigned,
        "hs256 keyed with the public key": lambda: hmac_with_public_key(key),
        "tampered payload": lambda: tampered(sign(key), sub="user_mallory"),
        "signed by a stranger under a known kid": lambda: sign(rsa_key("stranger")),
        "no kid": lambda: sign(key, kid=None),
        "garbage": lambda: "not.a.jwt",
    }
    token: str = forged[kind]()
    return token


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("expired", "token expired"),
        ("not yet valid", "not yet valid"),
        ("wrong issuer", "another issuer"),
        ("wrong azp", "azp"),
        ("audience", "another audience"),
        ("pending session", "session is not active"),
        ("missing sub", "required claim"),
        ("empty sub", "no subject"),
        ("missing exp", "required claim"),
        ("alg none", "RS256"),
        ("hs256 keyed with the public key", "RS256"),
        ("tampered payload", "bad signature"),
        ("signed by a stranger under a known kid", "bad signature"),
        ("no kid", "kid"),
        ("garbage", "malformed"),
    ],
)
async def test_every_other_token_is_401_with_a_challenge(
    client: Client, kind: str, reason: str
) -> None:
    await assert_401(client, _forged(kind), reason)


async def test_an_active_session_is_accepted(client: Client) -> None:
    token = sign(rsa_key("clerk-1"), sts="active")
    assert (await client.get("/api/campaigns", headers=auth(token))).status_code == 200


async def test_without_azp_the_token_is_accepted(client: Client) -> None:
    token = sign(rsa_key("clerk-1"), azp=None)  # server-to-server tokens name no browser origin
    assert (await client.get("/api/campaigns", headers=auth(token))).status_code == 200


async def test_with_no_allowed_origins_a_token_naming_a_party_is_refused(
    tmp_path: Path, jwks: JwksServer
) -> None:
    container = build_container(
        make_settings(
            tmp_path, database_url="memory://", clerk_jwks_url=jwks.url, clerk_issuer=ISSUER
        )
    )
    async with AsyncTestClient(create_app(container)) as client:
        await assert_401(client, sign(rsa_key("clerk-1")), "azp")
        response = await client.get(
            "/api/campaigns", headers=auth(sign(rsa_key("clerk-1"), azp=None))
        )
        assert response.status_code == 200


async def test_a_pem_key_verifies_without_any_fetch(tmp_path: Path, jwks: JwksServer) -> None:
    settings = make_settings(
        tmp_path,
        database_url="memory://",
        clerk_jwt_key=public_pem(rsa_key("clerk-1")).replace("\n", "\\n"),  # as pasted in one line
        clerk_issuer=ISSUER,
        allowed_origins=[ORIGIN],
    )
    async with AsyncTestClient(create_app(build_container(settings))) as client:
        ok = await client.get("/api/campaigns", headers=auth(sign(rsa_key("clerk-1"), kid=None)))
        assert ok.status_code == 200, ok.text
        await assert_401(client, sign(rsa_key("stranger")), "bad signature")
        await assert_401(client, hmac_with_public_key(rsa_key("clerk-1")), "RS256")
        await assert_401(client, unsigned(), "RS256")
    assert jwks.fetches == 0
