"""Bodies the stores cannot take (NUL in text, nesting that exhausts the decoder) are 4xx."""

from __future__ import annotations

import json
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from structlog.testing import capture_logs

from market_ai.adapters.auth.local_key import LocalKeyTokens
from market_ai.entrypoints.http.body_checks import MAX_DEPTH, nesting_depth, unstorable_text
from tests.conftest import bearer

Client = AsyncTestClient[Litestar]
NUL = "\u0000"


async def _campaign(client: Client, headers: dict[str, str]) -> str:
    created = await client.post(
        "/api/campaigns", json={"name": "Launch", "channel": "email"}, headers=headers
    )
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


@pytest.mark.parametrize(
    ("route", "body", "field"),
    [
        ("/api/campaigns", {"name": f"a{NUL}b", "channel": "email"}, "name"),
        ("/api/campaigns", {"name": "a", "channel": "email", "audience": NUL}, "audience"),
        ("{c}/emails", {"to": ["a@example.com", f"b{NUL}@example.com"], "subject": "s"}, "to[1]"),
        ("{c}/emails", {"to": ["a@example.com"], "subject": f"hi{NUL}", "body": "x"}, "subject"),
        ("{c}/content", {"kind": "email", "brief": f"{NUL}"}, "brief"),
        ("{c}/content", {"kind": "email", f"odd{NUL}key": "x"}, "odd\\u0000key"),
    ],
)
async def test_nul_in_any_text_field_is_a_422_naming_it(
    client: Client, tokens: LocalKeyTokens, route: str, body: dict[str, Any], field: str
) -> None:
    headers = bearer(tokens, "alice")
    url = route.format(c=f"/api/campaigns/{await _campaign(client, headers)}")
    response = await client.post(url, json=body, headers=headers)
    assert response.status_code == 422, response.text
    assert response.json()["invalid-params"][0]["name"] == field


async def test_nul_in_a_patch_is_refused_and_nothing_changes(
    client: Client, tokens: LocalKeyTokens
) -> None:
    headers = bearer(tokens, "alice")
    url = f"/api/campaigns/{await _campaign(client, headers)}"
    response = await client.patch(url, json={"brief": f"x{NUL}"}, headers=headers)
    assert response.status_code == 422
    assert response.json()["invalid-params"] == [
        {"name": "brief", "reason": "must not contain the NUL character (\\u0000)"}
    ]
    assert (await client.get(url, headers=headers)).json()["brief"] is None


@pytest.mark.parametrize(
    "body",
    ["[" * 10_000 + "]" * 10_000, '{"name": ' + "[" * 5_000 + "]" * 5_000 + "}"],
)
async def test_deep_nesting_is_a_400_without_a_traceback(
    client: Client, tokens: LocalKeyTokens, body: str
) -> None:
    headers = {**bearer(tokens, "alice"), "Content-Type": "application/json"}
    with capture_logs() as logs:
        response = await client.post("/api/campaigns", content=body, headers=headers)
    assert response.status_code == 400, response.text
    assert "nests deeper" in response.json()["detail"]
    assert not [entry for entry in logs if entry["log_level"] == "error"]


async def test_brackets_inside_strings_do_not_count_as_nesting(
    client: Client, tokens: LocalKeyTokens
) -> None:
    body = {"name": "[" * 200, "channel": "email", "brief": "{" * 500}
    response = await client.post("/api/campaigns", json=body, headers=bearer(tokens, "alice"))
    assert response.status_code == 201, response.text


def test_nesting_depth_reads_raw_json() -> None:
    deep = json.dumps({"a": [[{"b": "]]]]"}]] * 20}).encode()
    assert nesting_depth(deep) == 4
    too_deep = b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1)
    assert nesting_depth(too_deep) == MAX_DEPTH + 1
    assert nesting_depth(json.dumps(['"' + "[" * 100, "\\"]).encode()) == 1


def test_unstorable_text_walks_every_level() -> None:
    assert unstorable_text({"a": {"b": [1, "ok", f"x{NUL}"]}}) == "a.b[2]"
    assert unstorable_text(f"{NUL}") == "body"
    assert unstorable_text({"a": ["fine"], "b": None}) is None
