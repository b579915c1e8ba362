"""Development tokens obey production's subject rules and fixed messages (no token text echoed)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from market_ai.adapters.auth.claims import MAX_SUBJECT_LENGTH
from market_ai.adapters.auth.local_key import ISSUER, load_or_create_key
from market_ai.settings import Settings

Client = AsyncTestClient[Litestar]


def _token(settings: Settings, headers: dict[str, Any] | None = None, **claims: object) -> str:
    now = datetime.now(UTC)
    body = {"iss": ISSUER, "iat": now, "exp": now + timedelta(minutes=5), **claims}
    key = load_or_create_key(settings.data_dir)
    return jwt.encode(body, key, algorithm="RS256", headers=headers)


@pytest.mark.parametrize(
    ("sub", "message"),
    [
        ("", "no subject"),
        ("   ", "no subject"),
        ("x" * 10_240, "subject too long"),
        ("x" * (MAX_SUBJECT_LENGTH + 1), "subject too long"),
        ("alice\u0000", "subject holds control characters"),
        ("alice\nbob", "subject holds control characters"),
    ],
)
async def test_a_bad_subject_is_a_401(
    client: Client, settings: Settings, sub: str, message: str
) -> None:
    token = _token(settings, sub=sub)
    response = await client.get("/api/campaigns", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401, response.text
    assert response.json()["detail"] == f"invalid token: {message}"


async def test_the_longest_subject_the_store_holds_is_accepted(
    client: Client, settings: Settings
) -> None:
    token = _token(settings, sub="u" * MAX_SUBJECT_LENGTH)
    response = await client.get("/api/campaigns", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    "headers",
    [
        {"crit": ["x-evil\r\nSet-Cookie: a=b"], "x-evil\r\nSet-Cookie: a=b": 1},
        {"crit": ["secret-extension-name"], "secret-extension-name": 1},
    ],
)
async def test_failures_never_quote_the_token(
    client: Client, settings: Settings, headers: dict[str, Any]
) -> None:
    token = _token(settings, headers=headers, sub="alice")
    response = await client.get("/api/campaigns", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401, response.text
    assert response.json()["detail"] == "invalid token: unverifiable"
    assert "secret-extension-name" not in response.text
    assert "x-evil" not in response.headers["www-authenticate"]


async def test_a_malformed_token_gets_a_fixed_message(client: Client) -> None:
    response = await client.get(
        "/api/campaigns", headers={"Authorization": "Bearer e30.ZXZpbC1jb250ZW50.c2ln"}
    )
    assert response.status_code == 401
    assert "evil" not in response.text
    assert response.json()["detail"] == "invalid token: algorithm not allowed"
