"""The campaign metrics API through Litestar's test client, on memory adapters."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from dependency_injector import providers
from litestar import Litestar
from litestar.testing import AsyncTestClient

from market_ai.adapters.auth.local_key import LocalKeyTokens
from market_ai.container import Container
from market_ai.domain.clock import FixedClock
from tests.conftest import bearer

Client = AsyncTestClient[Litestar]
PROBLEM = "application/problem+json"


def day(date: str, **values: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "date": date,
        "impressions": 1000,
        "clicks": 10,
        "conversions": 1,
        "spend": "12.50",
        "revenue": "40.00",
    }
    row.update(values)
    return row


@pytest.fixture
def alice(tokens: LocalKeyTokens) -> dict[str, str]:
    return bearer(tokens, "alice")


@pytest.fixture
async def url(client: Client, alice: dict[str, str]) -> str:
    body = {"name": "Spring launch", "channel": "search"}
    response = await client.post("/api/campaigns", json=body, headers=alice)
    assert response.status_code == 201, response.text
    return f"/api/campaigns/{response.json()['id']}/metrics"


def problem_params(response: Any, status: int) -> list[str]:
    """Assert a problem document with `status` and return the names of the fields it blames."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == status
    return [p["name"] for p in body.get("invalid-params", [])]


async def test_post_then_get_returns_rows_totals_and_kpis(
    client: Client, alice: dict[str, str], url: str
) -> None:
    rows = [
        day("2025-01-02", impressions=900, clicks=9, spend=90, revenue="90"),
        day("2025-01-01", impressions=100, clicks=10, spend="10", revenue=50.0),
    ]
    posted = await client.post(url, json={"rows": rows}, headers=alice)
    assert posted.status_code == 200, posted.text
    body = posted.json()
    assert body["stored"] == 2
    assert (body["from"], body["to"]) == ("2025-01-01", "2025-01-02")
    assert body["totals"] == {
        "days": 2,
        "impressions": 1000,
        "clicks": 19,
        "conversions": 2,
        "spend": "100.00",
        "revenue": "140.00",
    }
    assert body["kpis"] == {
        "ctr": "0.019000",
        "cvr": "0.105263",
        "cpc": "5.2632",
        "cpa": "50.0000",
        "cpm": "100.0000",
        "roas": "1.4000",
    }
    got = await client.get(f"{url}?from=2025-01-01&to=2025-01-31", headers=alice)
    assert got.status_code == 200, got.text
    report = got.json()
    assert (report["from"], report["to"]) == ("2025-01-01", "2025-01-31")
    assert [r["date"] for r in report["rows"]] == ["2025-01-01", "2025-01-02"]
    assert report["rows"][0]["spend"] == "10.00"
    assert report["rows"][0]["kpis"]["ctr"] == "0.100000"
    assert (report["totals"], report["kpis"]) == (body["totals"], body["kpis"])


async def test_posting_the_same_batch_twice_is_safe(
    client: Client, alice: dict[str, str], url: str
) -> None:
    batch = {"rows": [day("2025-01-01"), day("2025-01-02", spend="0.000001")]}
    first = await client.post(url, json=batch, headers=alice)
    second = await client.post(url, json=batch, headers=alice)
    assert second.status_code == first.status_code == 200
    assert second.json() == first.json()
    report = (await client.get(f"{url}?from=2025-01-01&to=2025-01-02", headers=alice)).json()
    assert report["totals"]["spend"] == "12.500001"
    assert report["totals"]["days"] == 2


async def test_empty_range_has_zero_totals_and_null_kpis(
    client: Client, alice: dict[str, str], url: str
) -> None:
    report = await client.get(f"{url}?from=2024-01-01&to=2024-01-31", headers=alice)
    assert report.status_code == 200
    body = report.json()
    assert body["rows"] == []
    assert body["totals"]["spend"] == "0.00"
    assert set(body["kpis"].values()) == {None}


async def test_get_defaults_to_the_last_30_days(
    client: Client, container: Container, alice: dict[str, str], url: str
) -> None:
    container.clock.override(providers.Object(FixedClock(datetime(2025, 3, 1, 12, tzinfo=UTC))))
    rows = [day("2025-01-30"), day("2025-01-31"), day("2025-03-01")]
    await client.post(url, json={"rows": rows}, headers=alice)
    body = (await client.get(url, headers=alice)).json()
    assert (body["from"], body["to"]) == ("2025-01-31", "2025-03-01")
    assert [r["date"] for r in body["rows"]] == ["2025-01-31", "2025-03-01"]


async def test_another_users_campaign_is_404(
    client: Client, tokens: LocalKeyTokens, url: str
) -> None:
    bob = bearer(tokens, "bob")
    posted = await client.post(url, json={"rows": [day("2025-01-01")]}, headers=bob)
    assert problem_params(posted, 404) == []
    assert problem_params(await client.get(url, headers=bob), 404) == []


async def test_unknown_campaign_is_404(client: Client, alice: dict[str, str]) -> None:
    url = "/api/campaigns/00000000-0000-0000-0000-000000000000/metrics"
    assert problem_params(await client.get(url, headers=alice), 404) == []


async def test_requires_a_bearer_token(client: Client, url: str) -> None:
    assert problem_params(await client.get(url), 401) == ["Authorization"]


@pytest.mark.parametrize(
    ("rows", "field"),
    [
        ([day("2025-01-01", impressions=10, clicks=11)], "rows[0].clicks"),
        ([day("2025-01-01"), day("2025-01-02", spend="-0.01")], "rows[1].spend"),
        ([day("2025-01-01", revenue="1.0000001")], "rows[0].revenue"),
        ([day("2025-01-01", impressions=-1)], "rows[0].impressions"),
        ([day("2025-01-01", conversions=2**70)], "rows[0].conversions"),
        ([day("2025-01-01", revenue="NaN")], "rows[0].revenue"),
        ([day("2025-01-01"), day("2025-01-02"), day("2025-01-01")], "rows[2].date"),
        ([], "rows"),
    ],
)
async def test_rule_breaks_are_422_naming_the_row_and_field(
    client: Client, alice: dict[str, str], url: str, rows: list[dict[str, Any]], field: str
) -> None:
    response = await client.post(url, json={"rows": rows}, headers=alice)
    assert problem_params(response, 422) == [field]
    report = (await client.get(f"{url}?from=2025-01-01&to=2025-01-31", headers=alice)).json()
    assert report["rows"] == []  # nothing of a refused batch is stored


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"rows": [day("2025-01-01", cost="1")]}, "cost"),
        ({"rows": [day("2025-02-30")]}, "rows[0].date"),
        ({"rows": [day("yesterday")]}, "rows[0].date"),
        ({"rows": [day("2025-01-01", clicks="many")]}, "rows[0].clicks"),
        ({"rows": [day("2025-01-01", spend=[1])]}, "rows[0].spend"),
        ({"rows": [{"date": "2025-01-01"}]}, "impressions"),
        ({"rows": "all"}, "rows"),
        ({}, "rows"),
    ],
)
async def test_malformed_rows_are_400_naming_the_field(
    client: Client, alice: dict[str, str], url: str, body: dict[str, Any], field: str
) -> None:
    response = await client.post(url, json=body, headers=alice)
    assert field in problem_params(response, 400)


async def test_malformed_json_is_400(client: Client, alice: dict[str, str], url: str) -> None:
    headers = {**alice, "Content-Type": "application/json"}
    response = await client.post(url, content=b'{"rows": [', headers=headers)
    assert response.status_code == 400
    assert response.headers["content-type"].startswith(PROBLEM)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("from=2025-02-01&to=2025-01-01", (422, "from")),
        ("from=2020-01-01&to=2025-01-01", (422, "from")),
        ("from=2025-13-01", (400, "from")),
        ("to=soon", (400, "to")),
        ("to=20250101", (400, "to")),
        ("to=2025-02-30", (400, "to")),
    ],
)
async def test_bad_ranges_name_the_parameter(
    client: Client, alice: dict[str, str], url: str, query: str, expected: tuple[int, str]
) -> None:
    status, field = expected
    response = await client.get(f"{url}?{query}", headers=alice)
    assert problem_params(response, status) == [field]
