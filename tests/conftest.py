"""Shared fixtures: settings, containers on memory adapters, and real servers for the run."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from dependency_injector import providers
from litestar import Litestar
from litestar.testing import AsyncTestClient

from market_ai.adapters.auth.local_key import KEY_FILE, LocalKeyTokens, load_or_create_key
from market_ai.adapters.memory.unit_of_work import InMemoryStore, InMemoryUnitOfWork
from market_ai.container import Container, build_container
from market_ai.entrypoints.http.app import create_app
from market_ai.settings import Settings
from tests.servers import PostgresServer, RedisServer

pytest_plugins = ["tests.databases"]  # fresh_postgres_url, postgres_database


def make_settings(data_dir: Path, **values: object) -> Settings:
    """Settings that ignore the developer's environment and .env file."""
    return Settings(_env_file=None, data_dir=data_dir, **values)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def signing_key_pem(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """One development key per run: RSA key generation is the slowest part of app setup."""
    key_dir = tmp_path_factory.mktemp("signing-key")
    load_or_create_key(key_dir)
    return (key_dir / KEY_FILE).read_bytes()


@pytest.fixture
def settings(tmp_path: Path, signing_key_pem: bytes) -> Settings:
    (tmp_path / KEY_FILE).write_bytes(signing_key_pem)
    return make_settings(tmp_path)


@pytest.fixture
def memory_store() -> InMemoryStore:
    return InMemoryStore()


@pytest.fixture
def container(settings: Settings, memory_store: InMemoryStore) -> Iterator[Container]:
    """A container whose storage is overridden with in-memory fakes (no files, no servers)."""
    c = build_container(settings)
    c.unit_of_work.override(providers.Factory(InMemoryUnitOfWork, memory_store))
    c.storage.override(providers.Object("memory"))
    yield c
    c.reset_override()
    c.reset_singletons()


@pytest.fixture
def tokens(settings: Settings) -> LocalKeyTokens:
    """Issues development tokens accepted by the app built from `settings`."""
    return LocalKeyTokens(settings.data_dir)


def bearer(tokens: LocalKeyTokens, user: str) -> dict[str, str]:
    """Authorization header for `user`."""
    return {"Authorization": f"Bearer {tokens.issue(user)}"}


@pytest.fixture
async def client(container: Container) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(create_app(container)) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """TEST_DATABASE_URL, or a throwaway PostgreSQL server started for this run."""
    configured = os.environ.get("TEST_DATABASE_URL")
    if configured:
        yield configured
        return
    server = PostgresServer()
    server.start()
    try:
        yield server.url
    finally:
        server.remove()


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """TEST_REDIS_URL, or a throwaway Redis server started for this run."""
    configured = os.environ.get("TEST_REDIS_URL")
    if configured:
        yield configured
        return
    server = RedisServer(config={"maxmemory-policy": "noeviction"})
    server.start()
    try:
        yield server.url
    finally:
        server.remove()
