"""Secrets never reach logs, error bodies, headers or the settings' repr."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, MutableMapping
from pathlib import Path
from typing import Any

import pytest
from dependency_injector import providers
from litestar import Litestar
from litestar.testing import AsyncTestClient
from structlog.testing import capture_logs

from market_ai.adapters.auth.local_key import KEY_FILE, LocalKeyTokens
from market_ai.container import Container
from market_ai.domain.campaign_service import CampaignService
from market_ai.entrypoints.http.app import create_app
from market_ai.settings import Settings, SettingsError, load_settings
from tests.conftest import bearer, make_settings

Client = AsyncTestClient[Litestar]
DB_PASSWORD = "db-pw-SECRET-5e6f"
SECRETS = {
    "openai_api_key": "sk-openai-SECRET-1a2b",
    "clerk_secret_key": "sk_live_clerk-SECRET-3c4d",
    "unsubscribe_secret": "unsubscribe-links-SECRET-0123456789abcdef",
    "database_url": f"postgresql://app:{DB_PASSWORD}@db.internal:5432/market",
    "sentry_dsn": "https://sentrykey-SECRET-9c0d@o1.ingest.sentry.io/42",
    "operator_token": "operator-token-SECRET-0e1f2a3b",
}
NEEDLES = ["-SECRET-", DB_PASSWORD, "sk-openai", "sk_live", "sentrykey"]


def leaks(text: str) -> list[str]:
    return [needle for needle in NEEDLES if needle in text]


@pytest.fixture
def settings(tmp_path: Path, signing_key_pem: bytes) -> Settings:
    (tmp_path / KEY_FILE).write_bytes(signing_key_pem)
    return make_settings(tmp_path, log_level="DEBUG", **SECRETS)


class ExplodingCampaigns(CampaignService):
    """A bug inside a use case: the 500 path."""

    def __init__(self) -> None:
        """No unit of work: nothing is reached before the bug."""

    async def list(self, *_: Any, **__: Any) -> Any:
        raise RuntimeError("campaign listing blew up")


@pytest.fixture
async def logged_client(
    container: Container, caplog: pytest.LogCaptureFixture
) -> AsyncIterator[tuple[Client, list[MutableMapping[str, Any]]]]:
    caplog.set_level(logging.DEBUG)
    with capture_logs() as events:
        async with AsyncTestClient(create_app(container)) as client:
            yield client, events


def test_settings_repr_masks_keys_and_url_passwords(settings: Settings) -> None:
    for text in (repr(settings), str(settings)):
        assert not leaks(text), text
        assert "app:***@db.internal" in text


def test_a_bad_setting_names_the_variable_not_the_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", f"app:{DB_PASSWORD}@db.internal/market")
    monkeypatch.setenv("OPENAI_API_KEY", SECRETS["openai_api_key"])
    monkeypatch.setenv("DB_POOL_MAX_SIZE", "many")
    with pytest.raises(SettingsError) as caught:
        load_settings(_env_file=None)
    assert "DATABASE_URL" in str(caught.value)
    assert not leaks(str(caught.value))


async def test_errors_expose_no_secret_in_bodies_headers_or_logs(
    logged_client: tuple[Client, list[MutableMapping[str, Any]]],
    tokens: LocalKeyTokens,
    tmp_path_factory: pytest.TempPathFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    client, events = logged_client
    alice = bearer(tokens, "alice")
    stranger = bearer(LocalKeyTokens(tmp_path_factory.mktemp("stranger")), "alice")
    requests: list[tuple[str, str, dict[str, str], Any]] = [
        ("GET", "/api/campaigns", {}, None),
        ("GET", "/api/campaigns", {"Authorization": "Bearer not-a-jwt"}, None),
        ("GET", "/api/campaigns", stranger, None),
        ("POST", "/api/campaigns", alice, {"name": "", "channel": "pigeon"}),
        ("POST", "/api/campaigns", alice, {"name": "ok", "channel": "email", "budget": "-1"}),
        ("GET", "/api/campaigns/00000000-0000-0000-0000-000000000000", alice, None),
        ("GET", "/api/campaigns/not-a-uuid", alice, None),
        ("GET", "/api/campaigns?page=0", alice, None),
        ("DELETE", "/health", {}, None),
        ("GET", "/nowhere", {}, None),
        ("GET", "/health/detailed", {}, None),
    ]
    seen = []
    for method, path, headers, body in requests:
        response = await client.request(method, path, headers=headers, json=body)
        assert response.status_code != 200 or path.startswith("/health")
        seen.append(f"{response.status_code} {response.headers} {response.text}")
    assert not leaks("\n".join(seen))
    assert events, "the requests were logged"
    assert not leaks(repr(events) + caplog.text)


async def test_a_500_says_nothing_internal(
    container: Container, tokens: LocalKeyTokens, caplog: pytest.LogCaptureFixture
) -> None:
    container.campaign_service.override(providers.Object(ExplodingCampaigns()))
    caplog.set_level(logging.DEBUG)
    with capture_logs() as events:
        async with AsyncTestClient(create_app(container)) as client:
            response = await client.get("/api/campaigns", headers=bearer(tokens, "alice"))
    assert response.status_code == 500
    assert "blew up" not in response.text
    assert response.json()["detail"] == "the server hit an unexpected error; it has been logged"
    assert not leaks(response.text + str(response.headers))
    assert any(e["event"] == "request.failed" for e in events), "the bug itself is logged"
    assert not leaks(repr(events) + caplog.text)
