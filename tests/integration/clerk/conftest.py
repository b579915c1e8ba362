"""Fixtures for the Clerk tests: a JWKS server on loopback and an app that trusts it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from dependency_injector import providers
from litestar.testing import AsyncTestClient

from market_ai.container import Container
from market_ai.domain.clock import FixedClock
from market_ai.entrypoints.http.app import create_app
from market_ai.settings import Settings
from tests.clerk_rig import Client
from tests.conftest import make_settings
from tests.jwks_server import JwksServer
from tests.tokens import ISSUER, ORIGIN, KeyRing, rsa_key


@pytest.fixture
def jwks() -> Iterator[JwksServer]:
    with JwksServer(KeyRing({"kid-1": rsa_key("clerk-1")})) as server:
        yield server


@pytest.fixture
def settings(tmp_path: Path, jwks: JwksServer) -> Settings:
    return make_settings(
        tmp_path, clerk_jwks_url=jwks.url, clerk_issuer=ISSUER, allowed_origins=[ORIGIN]
    )


@pytest.fixture
def clock() -> FixedClock:
    """Drives the JWKS refetch window; token times are checked against the real clock."""
    return FixedClock(datetime.now(UTC))


@pytest.fixture
async def client(container: Container, clock: FixedClock) -> AsyncIterator[Client]:
    container.clock.override(providers.Object(clock))
    async with AsyncTestClient(create_app(container)) as test_client:
        yield test_client
