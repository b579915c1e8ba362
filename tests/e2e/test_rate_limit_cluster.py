"""Two instances, two workers each, one Redis: a client gets the limit once, not four times."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.live_app import dev_token, serving_many

pytestmark = pytest.mark.e2e
CONCURRENCY = 16


@pytest.fixture(scope="module")
def cluster(
    tmp_path_factory: pytest.TempPathFactory, redis_url: str
) -> Iterator[tuple[list[str], Path]]:
    """Two `serve --workers 2` instances sharing Redis and (for tokens) one signing key."""
    data_dir = tmp_path_factory.mktemp("cluster")
    dev_token(data_dir, "warm-up")  # the key exists before four processes race to create it
    env = {
        "REDIS_URL": redis_url,
        "DATABASE_URL": "memory://",
    }  # the limit, not the data, is shared
    with serving_many(data_dir, 2, "--workers", "2", **env) as bases:
        yield bases, data_dir


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    body: Any = None


async def _hammer(
    bases: list[str], token: str, call: Call, total: int
) -> list[tuple[str, httpx.Response]]:
    """`total` calls for one user, alternating between instances, CONCURRENCY at a time."""
    gate = asyncio.Semaphore(CONCURRENCY)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(timeout=30, headers=headers) as client:

        async def one(i: int) -> tuple[str, httpx.Response]:
            base = bases[i % len(bases)]
            async with gate:
                return base, await client.request(call.method, base + call.path, json=call.body)

        return await asyncio.gather(*(one(i) for i in range(total)))


def _statuses(results: list[tuple[str, httpx.Response]]) -> Counter[int]:
    return Counter(response.status_code for _, response in results)


async def test_the_default_limit_holds_across_instances_and_workers(
    cluster: tuple[list[str], Path],
) -> None:
    bases, data_dir = cluster
    token = dev_token(data_dir, f"reader-{uuid.uuid4().hex[:8]}")
    results = await _hammer(bases, token, Call("GET", "/api/campaigns"), 150)
    assert _statuses(results) == {200: 100, 429: 50}
    for base in bases:  # each instance refused some: neither kept a count of its own
        assert {r.status_code for b, r in results if b == base} == {200, 429}
    refused = next(r for _, r in results if r.status_code == 429)
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert refused.headers["ratelimit-limit"] == "100"


async def test_campaign_creation_is_limited_across_instances(
    cluster: tuple[list[str], Path],
) -> None:
    bases, data_dir = cluster
    token = dev_token(data_dir, f"writer-{uuid.uuid4().hex[:8]}")
    campaign = {"name": "Burst", "channel": "social"}
    results = await _hammer(bases, token, Call("POST", "/api/campaigns", campaign), 25)
    assert _statuses(results) == {201: 10, 429: 15}
    refused = next(r for _, r in results if r.status_code == 429)
    assert refused.headers["ratelimit-limit"] == "10"
