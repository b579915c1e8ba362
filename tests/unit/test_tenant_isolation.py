"""Tenant isolation on every /api route that takes an id, found by walking the route table.

A new route with a path parameter fails `test_every_api_route_with_an_id_has_a_probe` until a
probe (a request that works for the owner) is added to PROBES, and a new parameter name fails
until RESOURCES knows how to make one. Then the route is checked like every other: another
user gets 404, learns nothing of the owner's data and changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from litestar import Litestar
from litestar.routes import HTTPRoute
from litestar.testing import AsyncTestClient

from market_ai.adapters.auth.local_key import LocalKeyTokens
from market_ai.container import Container
from market_ai.entrypoints.http.app import create_app
from tests.conftest import bearer
from tests.job_rig import eventually

Client = AsyncTestClient[Litestar]
OWNER, INTRUDER = "user_alice", "user_mallory"
MARKER = "alice-private-7f3c"  # in every field the owner writes; must never reach the intruder
_PARAM = re.compile(r"\{(\w+)(?::\w+)?\}")


@dataclass(frozen=True)
class Resource:
    """How to make one of the owner's resources, and how the owner reads it back."""

    make: Callable[[Client, Container, dict[str, str]], Awaitable[str]]
    views: tuple[str, ...]  # the owner's reads, compared before and after the intruder tried
    stable: tuple[str, ...] = ()  # fields compared before/after; empty: the whole body


@dataclass(frozen=True)
class Probe:
    """A request that succeeds for the owner; as anyone else it must be a 404."""

    body: dict[str, Any] | None = None
    query: dict[str, str] = field(default_factory=dict)


async def _campaign(client: Client, _: Container, owner: dict[str, str]) -> str:
    body = {"name": f"Launch {MARKER}", "channel": "email", "brief": MARKER, "budget": "750.00"}
    created = await client.post("/api/campaigns", json=body, headers=owner)
    assert created.status_code == 201, created.text
    campaign_id: str = created.json()["id"]
    recorded = await client.post(
        f"/api/campaigns/{campaign_id}/metrics", json=_metrics(clicks=77), headers=owner
    )
    assert recorded.status_code == 200, recorded.text
    started = await client.post(f"/api/campaigns/{campaign_id}/analysis", headers=owner)
    assert started.status_code == 202, started.text

    async def analysed() -> bool:
        answer = await client.get(f"/api/campaigns/{campaign_id}/analysis", headers=owner)
        return answer.status_code == 200

    await eventually(analysed)  # the embedded worker runs it
    return campaign_id


async def _job(_: Client, container: Container, __: dict[str, str]) -> str:
    job = await container.job_service().submit(OWNER, "noop", {"note": MARKER})
    return str(job.id)


def _metrics(clicks: int) -> dict[str, Any]:
    day = datetime.now(UTC).date().isoformat()
    row = {"impressions": 1000, "clicks": clicks, "conversions": 3, "spend": "9.50"}
    return {"rows": [{"date": day, **row, "revenue": "30.00"}]}


RESOURCES: dict[str, Resource] = {
    "campaign_id": Resource(
        _campaign,
        (
            "/api/campaigns/{campaign_id}",
            "/api/campaigns/{campaign_id}/metrics",
            "/api/campaigns/{campaign_id}/analysis",
        ),
    ),
    "job_id": Resource(_job, ("/api/jobs/{job_id}",), stable=("id", "type", "payload")),
}

# (method, route path as Litestar lists it) -> a request that works for the owner.
PROBES: dict[tuple[str, str], Probe] = {
    ("GET", "/api/campaigns/{campaign_id:uuid}"): Probe(),
    ("PATCH", "/api/campaigns/{campaign_id:uuid}"): Probe(body={"name": "renamed"}),
    ("DELETE", "/api/campaigns/{campaign_id:uuid}"): Probe(),
    ("GET", "/api/campaigns/{campaign_id:uuid}/metrics"): Probe(),
    ("POST", "/api/campaigns/{campaign_id:uuid}/metrics"): Probe(body=_metrics(clicks=1)),
    ("GET", "/api/jobs/{job_id:uuid}"): Probe(),
    ("GET", "/api/campaigns/{campaign_id:uuid}/analysis"): Probe(),
    ("POST", "/api/campaigns/{campaign_id:uuid}/analysis"): Probe(),
    ("POST", "/api/campaigns/{campaign_id:uuid}/emails"): Probe(
        body={"to": ["ops@example.com"], "subject": "Report", "body": "Figures attached."}
    ),
    ("GET", "/api/campaigns/{campaign_id:uuid}/content"): Probe(),
    ("POST", "/api/campaigns/{campaign_id:uuid}/content"): Probe(body={"kind": "email"}),
}


def routes_with_ids(app: Litestar) -> set[tuple[str, str]]:
    """Every (method, path) under /api whose path names a resource; OPTIONS is Litestar's."""
    found: set[tuple[str, str]] = set()
    for route in app.routes:
        if (
            isinstance(route, HTTPRoute)
            and route.path.startswith("/api/")
            and route.path_parameters
        ):
            found.update((m, route.path) for m in route.methods if m != "OPTIONS")
    return found


def fill(template: str, ids: dict[str, str]) -> str:
    return _PARAM.sub(lambda match: ids[match.group(1)], template)


def test_every_api_route_with_an_id_has_a_probe(container: Container) -> None:
    routes = routes_with_ids(create_app(container))
    missing = sorted(routes - PROBES.keys())
    assert not missing, f"add a request that works for the owner to PROBES for {missing}"
    stale = sorted(PROBES.keys() - routes)
    assert not stale, f"PROBES names routes the app no longer has: {stale}"


def test_every_path_parameter_has_a_resource_maker(container: Container) -> None:
    names = {
        m.group(1)
        for _, path in routes_with_ids(create_app(container))
        for m in _PARAM.finditer(path)
    }
    assert names <= RESOURCES.keys(), f"teach RESOURCES to make {sorted(names - RESOURCES.keys())}"


async def _snapshot(client: Client, ids: dict[str, str], owner: dict[str, str]) -> list[Any]:
    views = []
    for resource in RESOURCES.values():
        for view in resource.views:
            response = await client.get(fill(view, ids), headers=owner)
            assert response.status_code == 200, response.text
            body = response.json()
            views.append({k: body[k] for k in resource.stable} if resource.stable else body)
    return views


@pytest.mark.parametrize(
    ("method", "path"), sorted(PROBES), ids=[" ".join(k) for k in sorted(PROBES)]
)
async def test_another_users_id_is_404_and_reveals_and_changes_nothing(
    client: Client, container: Container, tokens: LocalKeyTokens, method: str, path: str
) -> None:
    owner, intruder = bearer(tokens, OWNER), bearer(tokens, INTRUDER)
    ids = {name: await r.make(client, container, owner) for name, r in RESOURCES.items()}
    url, probe = fill(path, ids), PROBES[(method, path)]
    before = await _snapshot(client, ids, owner)

    response = await client.request(
        method, url, json=probe.body, params=probe.query, headers=intruder
    )
    assert response.status_code == 404, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert MARKER not in response.text
    assert await _snapshot(client, ids, owner) == before, "the intruder changed the owner's data"

    as_owner = await client.request(method, url, json=probe.body, params=probe.query, headers=owner)
    assert 200 <= as_owner.status_code < 300, f"the probe itself is wrong: {as_owner.text}"
