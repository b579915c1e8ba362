"""Conditional requests through the app on memory adapters: ETags, 304, If-Match, 412, 428."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from market_ai.adapters.auth.local_key import LocalKeyTokens
from market_ai.container import build_container
from market_ai.entrypoints.http.app import create_app
from market_ai.settings import Settings
from tests.conftest import bearer
from tests.unit.test_http_analysis_emails import _campaign, finished_job

Client = AsyncTestClient[Litestar]
REVALIDATE = "private, no-cache"


@pytest.fixture
def alice(tokens: LocalKeyTokens) -> dict[str, str]:
    return bearer(tokens, "alice")


async def _create(client: Client, headers: dict[str, str], name: str = "Spring") -> dict[str, Any]:
    created = await client.post(
        "/api/campaigns", json={"name": name, "channel": "email"}, headers=headers
    )
    assert created.status_code == 201, created.text
    assert created.headers["etag"] == '"v1"'  # a write answers with the new tag
    body: dict[str, Any] = created.json()
    return body


async def _revalidates(client: Client, path: str, headers: dict[str, str]) -> str:
    """GET is tagged and revalidatable; the same tag back is a 304 with no body."""
    first = await client.get(path, headers=headers)
    assert first.status_code == 200, first.text
    etag = first.headers["etag"]
    assert etag.startswith('"'), "strong (no W/), quoted"
    assert etag.endswith('"')
    assert first.headers["cache-control"] == REVALIDATE
    again = await client.get(path, headers={**headers, "If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    listed = await client.get(path, headers={**headers, "If-None-Match": f'"other", W/{etag}'})
    assert listed.status_code == 304, "a list of tags and a weak form match too"
    other = await client.get(path, headers={**headers, "If-None-Match": '"other"'})
    assert other.status_code == 200
    assert other.content == first.content
    return etag


async def test_a_campaign_is_tagged_by_version_and_revalidated(
    client: Client, alice: dict[str, str], tokens: LocalKeyTokens
) -> None:
    campaign = await _create(client, alice)
    path = f"/api/campaigns/{campaign['id']}"
    etag = await _revalidates(client, path, alice)
    assert etag == '"v1"'
    patched = await client.patch(path, json={"name": "Renamed"}, headers=alice)
    assert patched.headers["etag"] == '"v2"'
    changed = await client.get(path, headers={**alice, "If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.json()["name"] == "Renamed"
    bob = await client.get(path, headers={**bearer(tokens, "bob"), "If-None-Match": etag})
    assert bob.status_code == 404, "a tag reveals nothing of another user's campaign"


async def test_a_list_is_tagged_per_query_and_by_its_total(
    client: Client, alice: dict[str, str]
) -> None:
    for name in ("a", "b"):
        await _create(client, alice, name)
    first = await _revalidates(client, "/api/campaigns?per_page=1", alice)
    second = await _revalidates(client, "/api/campaigns?per_page=1&page=2", alice)
    assert first != second
    beyond = await _revalidates(client, "/api/campaigns?page=5", alice)  # an empty page
    await _create(client, alice, "c")
    empty_again = await client.get(
        "/api/campaigns?page=5", headers={**alice, "If-None-Match": beyond}
    )
    assert empty_again.status_code == 200, "same empty body, new X-Total-Count: a new tag"
    assert empty_again.headers["x-total-count"] == "3"


async def test_metrics_analysis_content_and_job_reads_are_tagged(
    client: Client, alice: dict[str, str]
) -> None:
    campaign_id = await _campaign(client, alice)
    metrics = f"/api/campaigns/{campaign_id}/metrics"
    etag = await _revalidates(client, metrics, alice)
    posted = await client.post(
        metrics,
        json={
            "rows": [
                {
                    "date": "2020-01-01",
                    "impressions": 1,
                    "clicks": 0,
                    "conversions": 0,
                    "spend": "1.00",
                    "revenue": "0",
                }
            ]
        },
        headers=alice,
    )
    assert posted.status_code == 200
    ranged = await client.get(f"{metrics}?from=2020-01-01&to=2020-01-01", headers=alice)
    assert ranged.json()["totals"]["spend"] == "1.00", "a read after the write is fresh"
    assert (await client.get(metrics, headers={**alice, "If-None-Match": etag})).status_code == 304

    started = await client.post(f"/api/campaigns/{campaign_id}/analysis", headers=alice)
    await finished_job(client, started.headers["location"], alice)
    await _revalidates(client, started.headers["location"], alice)
    await _revalidates(client, f"/api/campaigns/{campaign_id}/analysis", alice)
    await _revalidates(client, f"/api/campaigns/{campaign_id}/content", alice)


async def test_if_match_guards_patch_against_lost_updates(
    client: Client, alice: dict[str, str]
) -> None:
    campaign = await _create(client, alice)
    path = f"/api/campaigns/{campaign['id']}"
    mine = await client.patch(path, json={"name": "Tab one"}, headers={**alice, "If-Match": '"v1"'})
    assert mine.status_code == 200
    assert mine.headers["etag"] == '"v2"'
    theirs = await client.patch(
        path, json={"name": "Tab two"}, headers={**alice, "If-Match": '"v1"'}
    )
    assert theirs.status_code == 412
    assert theirs.headers["content-type"].startswith("application/problem+json")
    for stale in (
        'W/"v2"',
        '"0123abcd"',
    ):  # If-Match compares strongly; a foreign tag never matches
        refused = await client.patch(path, json={"name": "x"}, headers={**alice, "If-Match": stale})
        assert refused.status_code == 412
    current = (await client.get(path, headers=alice)).json()
    assert (current["name"], current["version"]) == ("Tab one", 2), "nothing changed"
    listed = await client.patch(
        path, json={"name": "Tab two"}, headers={**alice, "If-Match": '"v1", "v2"'}
    )
    assert listed.status_code == 200
    anything = await client.patch(path, json={"brief": "b"}, headers={**alice, "If-Match": "*"})
    assert anything.status_code == 200
    without = await client.patch(path, json={"brief": "c"}, headers=alice)
    assert without.status_code == 200, "without If-Match a write behaves as before"
    assert without.headers["etag"] == '"v5"'


async def test_if_match_guards_delete(client: Client, alice: dict[str, str]) -> None:
    campaign = await _create(client, alice)
    path = f"/api/campaigns/{campaign['id']}"
    await client.patch(path, json={"name": "Changed"}, headers=alice)
    stale = await client.delete(path, headers={**alice, "If-Match": '"v1"'})
    assert stale.status_code == 412
    assert (await client.get(path, headers=alice)).status_code == 200, "still there"
    current = await client.delete(path, headers={**alice, "If-Match": '"v2"'})
    assert current.status_code == 204
    assert (await client.get(path, headers=alice)).status_code == 404


async def test_require_if_match_answers_428_without_it(
    settings: Settings, alice: dict[str, str]
) -> None:
    strict_settings = settings.model_copy(update={"require_if_match": True})
    async with AsyncTestClient(create_app(build_container(strict_settings))) as strict:
        campaign = await _create(strict, alice)
        path = f"/api/campaigns/{campaign['id']}"
        for method in ("PATCH", "DELETE"):
            body = {"name": "x"} if method == "PATCH" else None
            refused = await strict.request(method, path, json=body, headers=alice)
            assert refused.status_code == 428, refused.text
        ok = await strict.patch(path, json={"name": "x"}, headers={**alice, "If-Match": '"v1"'})
        assert ok.status_code == 200
