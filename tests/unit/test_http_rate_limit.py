"""Rate limiting through Litestar's test client, on the in-process limiter."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from dependency_injector import providers
from litestar import Litestar
from litestar.testing import AsyncTestClient
from structlog.testing import capture_logs

from market_ai.adapters.auth.local_key import KEY_FILE, LocalKeyTokens
from market_ai.adapters.memory.rate_limit import InMemoryRateLimiter
from market_ai.adapters.memory.unit_of_work import InMemoryStore, InMemoryUnitOfWork
from market_ai.adapters.redis.rate_limit import RedisRateLimiter
from market_ai.container import Container, build_container
from market_ai.domain.rate_limit import RateLimiter
from market_ai.entrypoints.http.app import create_app
from tests.conftest import bearer, make_settings
from tests.rate_limit_fakes import FailingRateLimiter, RecordingRateLimiter

Client = AsyncTestClient[Litestar]
OpenClient = Callable[..., AbstractAsyncContextManager[Client]]
PROBLEM = "application/problem+json"
CAMPAIGN = {"name": "Launch", "channel": "email"}


@pytest.fixture
def containers(
    tmp_path: Path, signing_key_pem: bytes, memory_store: InMemoryStore
) -> Iterator[Callable[..., Container]]:
    """Builds containers on memory adapters with the given settings (and limiter, if any)."""
    built: list[Container] = []
    (tmp_path / KEY_FILE).write_bytes(signing_key_pem)

    def build(limiter: RateLimiter | None = None, **values: Any) -> Container:
        container = build_container(make_settings(tmp_path, **values))
        container.unit_of_work.override(providers.Factory(InMemoryUnitOfWork, memory_store))
        container.storage.override(providers.Object("memory"))
        if limiter is not None:
            container.rate_limiter.override(providers.Object(limiter))
        built.append(container)
        return container

    yield build
    for container in built:
        container.reset_override()
        container.reset_singletons()


@pytest.fixture
def open_client(containers: Callable[..., Container]) -> OpenClient:
    @asynccontextmanager
    async def open_(limiter: RateLimiter | None = None, **values: Any) -> AsyncIterator[Client]:
        async with AsyncTestClient(create_app(containers(limiter, **values))) as client:
            yield client

    return open_


async def test_past_the_limit_answers_429_problem_with_retry_after(
    open_client: OpenClient, tokens: LocalKeyTokens
) -> None:
    headers = bearer(tokens, "alice")
    async with open_client(rate_limit_default="3/minute") as client:
        passed = [await client.get("/api/campaigns", headers=headers) for _ in range(3)]
        denied = await client.get("/api/campaigns", headers=headers)
    assert [r.status_code for r in passed] == [200, 200, 200]
    assert [r.headers["ratelimit-remaining"] for r in passed] == ["2", "1", "0"]
    assert all(r.headers["ratelimit-limit"] == "3" for r in passed)
    assert all(1 <= int(r.headers["ratelimit-reset"]) <= 60 for r in passed)
    assert passed[0].headers["ratelimit-policy"] == "3;w=60"
    assert denied.status_code == 429
    assert denied.headers["content-type"].startswith(PROBLEM)
    assert 1 <= int(denied.headers["retry-after"]) <= 60
    assert denied.headers["ratelimit-remaining"] == "0"
    body = denied.json()
    assert body["type"] == "urn:market-ai:problem:rate-limited"
    assert body["status"] == 429
    assert "retry in" in body["detail"]


async def test_each_verified_user_has_a_bucket_and_anonymous_traffic_uses_the_address(
    open_client: OpenClient, tokens: LocalKeyTokens
) -> None:
    limiter = RecordingRateLimiter()
    async with open_client(limiter, rate_limit_default="2/minute") as client:
        alice = [await client.get("/api/campaigns", headers=bearer(tokens, "alice")) for _ in "abc"]
        bob = await client.get("/api/campaigns", headers=bearer(tokens, "bob"))
        anonymous = await client.get("/api/campaigns")
    assert [r.status_code for r in alice] == [200, 200, 429]
    assert bob.status_code == 200
    assert anonymous.status_code == 401
    assert limiter.keys == [
        "default:user:alice",
        "default:user:alice",
        "default:user:alice",
        "default:user:bob",
        "default:ip:testclient",
    ]


async def test_a_forged_token_counts_against_the_address_not_the_named_user(
    open_client: OpenClient, tokens: LocalKeyTokens, tmp_path: Path
) -> None:
    forged = bearer(LocalKeyTokens(tmp_path / "attacker"), "alice")  # signed by another key
    async with open_client(rate_limit_default="3/minute") as client:
        guesses = [await client.get("/api/campaigns", headers=forged) for _ in range(4)]
        real = await client.get("/api/campaigns", headers=bearer(tokens, "alice"))
    assert [r.status_code for r in guesses] == [401, 401, 401, 429]
    assert real.status_code == 200
    assert real.headers["ratelimit-remaining"] == "2"  # alice's own bucket was never touched


async def test_401s_without_a_token_are_limited_too(open_client: OpenClient) -> None:
    async with open_client(rate_limit_default="2/minute") as client:
        statuses = [(await client.get("/api/campaigns")).status_code for _ in range(3)]
    assert statuses == [401, 401, 429]


async def test_campaign_creation_has_its_own_tighter_limit_on_top_of_the_default(
    open_client: OpenClient, tokens: LocalKeyTokens
) -> None:
    headers = bearer(tokens, "alice")
    settings = {"rate_limit_default": "5/minute", "rate_limit_campaign_create": "2/minute"}
    async with open_client(**settings) as client:
        created = [
            await client.post("/api/campaigns", json=CAMPAIGN, headers=headers) for _ in "ab"
        ]
        refused = await client.post("/api/campaigns", json=CAMPAIGN, headers=headers)
        listed = await client.get("/api/campaigns", headers=headers)
    assert [r.status_code for r in created] == [201, 201]
    assert created[0].headers["ratelimit-limit"] == "2"  # the tighter rule is the one shown
    assert refused.status_code == 429
    assert refused.headers["ratelimit-limit"] == "2"
    assert listed.status_code == 200
    assert listed.headers["ratelimit-remaining"] == "1"  # 3 posts + this get out of 5
    assert len(listed.json()) == 2


@pytest.mark.parametrize(
    ("hops", "forwarded", "expected"),
    [
        (0, "198.51.100.1", "ip:testclient"),  # no proxy trusted: the header is the client's say
        (1, "203.0.113.7", "ip:203.0.113.7"),
        (1, "198.51.100.1, 203.0.113.7", "ip:203.0.113.7"),  # the left entry is spoofable
        (2, "198.51.100.1, 203.0.113.7, 10.0.0.2", "ip:203.0.113.7"),
        (2, "203.0.113.7", "ip:testclient"),  # shorter than the trusted chain: the peer
        (1, "not-an-address", "ip:testclient"),
        (1, "203.0.113.7:51234", "ip:203.0.113.7"),
        (1, "2001:db8:1:2:3:4:5:6", "ip:2001:db8:1:2::/64"),
        (1, "[2001:db8:1:2::9]:443", "ip:2001:db8:1:2::/64"),
        (1, "::ffff:203.0.113.7", "ip:203.0.113.7"),
    ],
)
async def test_the_client_address_comes_from_the_trusted_proxy_hop(
    open_client: OpenClient, hops: int, forwarded: str, expected: str
) -> None:
    limiter = RecordingRateLimiter()
    async with open_client(limiter, trusted_proxy_hops=hops) as client:
        await client.get("/api/campaigns", headers={"X-Forwarded-For": forwarded})
    assert limiter.keys == [f"default:{expected}"]


async def test_spoofed_forwarded_entries_do_not_buy_a_fresh_bucket(open_client: OpenClient) -> None:
    async with open_client(rate_limit_default="2/minute", trusted_proxy_hops=1) as client:
        statuses = [
            (
                await client.get(
                    "/api/campaigns", headers={"X-Forwarded-For": f"10.9.9.{i}, 203.0.113.7"}
                )
            ).status_code
            for i in range(3)
        ]
    assert statuses == [401, 401, 429]


async def test_health_and_schema_are_never_limited(open_client: OpenClient) -> None:
    limiter = RecordingRateLimiter()
    async with open_client(limiter, rate_limit_default="1/minute") as client:
        responses = [await client.get(path) for path in ["/health", "/health/ready"] * 3]
        responses.append(await client.get("/schema/openapi.json"))
    assert {r.status_code for r in responses} == {200}
    assert not any("ratelimit-limit" in r.headers for r in responses)
    assert limiter.keys == []


async def test_switched_off_nothing_is_counted_or_refused(
    open_client: OpenClient, tokens: LocalKeyTokens
) -> None:
    limiter = RecordingRateLimiter()
    headers = bearer(tokens, "alice")
    async with open_client(limiter, rate_limit_default="1/minute", rate_limit_enabled=False) as c:
        responses = [await c.get("/api/campaigns", headers=headers) for _ in range(3)]
    assert [r.status_code for r in responses] == [200, 200, 200]
    assert "ratelimit-limit" not in responses[0].headers
    assert limiter.keys == []


async def test_a_failing_store_fails_open_and_logs_once_per_interval(
    open_client: OpenClient, tokens: LocalKeyTokens
) -> None:
    limiter = FailingRateLimiter()
    with capture_logs() as logs:
        async with open_client(limiter) as client:
            responses = [
                await client.get("/api/campaigns", headers=bearer(tokens, "alice"))
                for _ in range(5)
            ]
    assert [r.status_code for r in responses] == [200] * 5
    assert limiter.attempts == 5
    warnings = [e for e in logs if e["event"] == "rate_limit.store_unavailable"]
    assert len(warnings) == 1
    assert warnings[0]["action"] == "allowed"
    assert "store down" in warnings[0]["error"]


async def test_a_failing_store_fails_closed_when_told_to(
    open_client: OpenClient, tokens: LocalKeyTokens
) -> None:
    async with open_client(FailingRateLimiter(), rate_limit_fail_open=False) as client:
        response = await client.get("/api/campaigns", headers=bearer(tokens, "alice"))
        health = await client.get("/health")
    assert response.status_code == 503
    assert response.headers["content-type"].startswith(PROBLEM)
    assert response.headers["retry-after"] == "5"
    assert response.json()["type"] == "urn:market-ai:problem:unavailable"
    assert health.status_code == 200


async def test_redis_url_selects_the_shared_limiter(tmp_path: Path) -> None:
    memory = build_container(make_settings(tmp_path))
    shared = build_container(make_settings(tmp_path, redis_url="redis://127.0.0.1:1/0"))
    assert isinstance(memory.rate_limiter(), InMemoryRateLimiter)
    assert isinstance(shared.rate_limiter(), RedisRateLimiter)
    await shared.redis_client().aclose()


@pytest.mark.parametrize("value", ["lots", "0/minute", "10/fortnight"])
def test_a_bad_rate_setting_fails_at_start_naming_the_variable(tmp_path: Path, value: str) -> None:
    from market_ai.settings import SettingsError, load_settings  # noqa: PLC0415

    with pytest.raises(SettingsError, match="RATE_LIMIT_CAMPAIGN_CREATE"):
        load_settings(_env_file=None, data_dir=tmp_path, rate_limit_campaign_create=value)
