"""How the app fetches Clerk's JWKS: cached by kid, refetched once per window, never in a storm."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest
from litestar.testing import AsyncTestClient

from market_ai.adapters.auth.jwks import MAX_AGE_SECONDS, MIN_REFETCH_SECONDS
from market_ai.container import Container, stop
from market_ai.domain.clock import FixedClock
from market_ai.entrypoints.http.app import create_app
from tests.clerk_rig import Client, auth
from tests.jwks_server import JwksServer
from tests.tokens import rsa_key, sign

pytestmark = pytest.mark.integration
PAST_WINDOW = timedelta(seconds=MIN_REFETCH_SECONDS + 1)


async def status(client: Client, kid: str, key: str = "clerk-1") -> int:
    response = await client.get("/api/campaigns", headers=auth(sign(rsa_key(key), kid=kid)))
    return response.status_code


async def test_nothing_is_fetched_before_the_first_token(client: Client, jwks: JwksServer) -> None:
    assert (await client.get("/health")).status_code == 200
    assert jwks.fetches == 0


async def test_an_unknown_kid_costs_one_refetch_then_401(
    client: Client, jwks: JwksServer, clock: FixedClock
) -> None:
    assert await status(client, "kid-1") == 200
    assert jwks.fetches == 1
    clock.at += PAST_WINDOW
    assert await status(client, "kid-unknown") == 401
    assert jwks.fetches == 2
    assert await status(client, "kid-unknown") == 401
    assert jwks.fetches == 2, "the same unknown kid inside the window fetches nothing"


async def test_a_flood_of_random_kids_is_one_fetch_per_window(
    client: Client, jwks: JwksServer, clock: FixedClock
) -> None:
    assert await status(client, "kid-1") == 200
    clock.at += PAST_WINDOW
    codes = await asyncio.gather(*(status(client, uuid.uuid4().hex) for _ in range(50)))
    assert set(codes) == {401}
    assert jwks.fetches == 2
    assert await status(client, "kid-1") == 200, "known keys keep working during the flood"
    clock.at += PAST_WINDOW
    assert await status(client, uuid.uuid4().hex) == 401
    assert jwks.fetches == 3


async def test_a_key_rotated_in_after_start_is_accepted_after_the_refetch(
    client: Client, jwks: JwksServer, clock: FixedClock
) -> None:
    assert await status(client, "kid-1") == 200
    jwks.ring.keys["kid-2"] = rsa_key("clerk-2")
    assert await status(client, "kid-2", key="clerk-2") == 401, "inside the window: not yet"
    assert jwks.fetches == 1
    clock.at += PAST_WINDOW
    assert await status(client, "kid-2", key="clerk-2") == 200
    assert await status(client, "kid-1") == 200
    assert jwks.fetches == 2


async def test_a_retired_key_stops_working_once_the_set_is_stale(
    client: Client, jwks: JwksServer, clock: FixedClock
) -> None:
    assert await status(client, "kid-1") == 200
    jwks.ring.keys = {"kid-2": rsa_key("clerk-2")}
    clock.at += timedelta(seconds=MAX_AGE_SECONDS - 1)
    assert await status(client, "kid-1") == 200, "cached keys are trusted until max age"
    clock.at += timedelta(seconds=2)
    assert await status(client, "kid-1") == 401
    assert await status(client, "kid-2", key="clerk-2") == 200
    assert jwks.fetches == 2


async def test_an_unreachable_jwks_before_any_key_is_503_not_401(
    client: Client, jwks: JwksServer, clock: FixedClock
) -> None:
    jwks.failing = True
    response = await client.get("/api/campaigns", headers=auth(sign(rsa_key("clerk-1"))))
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"]
    assert response.json()["status"] == 503
    jwks.failing = False
    assert await status(client, "kid-1") == 503, "inside the window the failure is not retried"
    clock.at += PAST_WINDOW
    assert await status(client, "kid-1") == 200
    assert jwks.fetches == 2


async def test_an_outage_after_keys_were_loaded_keeps_the_known_keys(
    client: Client, jwks: JwksServer, clock: FixedClock
) -> None:
    assert await status(client, "kid-1") == 200
    jwks.failing = True
    clock.at += timedelta(seconds=MAX_AGE_SECONDS + 1)
    assert await status(client, "kid-1") == 200
    assert jwks.fetches == 2


async def test_stop_closes_the_http_client(container: Container, jwks: JwksServer) -> None:
    async with AsyncTestClient(create_app(container)) as client:
        assert await status(client, "kid-1") == 200
        keys = container.token_verifier()._keys
        assert keys._client is not None
    assert keys._client is None, "the app's shutdown closed the JWKS client"
    await stop(container)  # idempotent
    assert jwks.fetches == 1
