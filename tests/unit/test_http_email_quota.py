"""Email routes at the edge: the daily quota's 429, and the public one-click unsubscribe route."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from market_ai.adapters.auth.local_key import KEY_FILE, LocalKeyTokens
from market_ai.adapters.memory.unit_of_work import InMemoryStore
from market_ai.settings import Settings
from tests.conftest import bearer, make_settings
from tests.unit.test_http_analysis_emails import finished_job

Client = AsyncTestClient[Litestar]
QUOTA = 3


@pytest.fixture
def settings(tmp_path: Path, signing_key_pem: bytes) -> Settings:
    (tmp_path / KEY_FILE).write_bytes(signing_key_pem)
    return make_settings(
        tmp_path, email_recipients_per_day=QUOTA, public_base_url="https://mail.example.com/"
    )


async def _campaign(client: Client, headers: dict[str, str]) -> str:
    created = await client.post(
        "/api/campaigns", json={"name": "Launch", "channel": "email"}, headers=headers
    )
    assert created.status_code == 201, created.text
    campaign_id: str = created.json()["id"]
    return campaign_id


async def _send(client: Client, headers: dict[str, str], campaign: str, to: list[str]) -> Any:
    email = {"to": to, "subject": "Weekly", "body": "Hi.\n"}
    return await client.post(f"/api/campaigns/{campaign}/emails", json=email, headers=headers)


async def test_past_the_daily_quota_is_a_429_naming_the_quota_and_its_reset(
    client: Client, tokens: LocalKeyTokens
) -> None:
    alice = bearer(tokens, "alice")
    campaign = await _campaign(client, alice)
    first = await _send(client, alice, campaign, ["a@example.com", "b@example.com"])
    assert first.status_code == 202, first.text

    refused = await _send(client, alice, campaign, ["c@example.com", "d@example.com"])

    assert refused.status_code == 429, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    problem = refused.json()
    assert problem["type"] == "urn:market-ai:problem:quota-exceeded"
    assert problem["quota"] == "EMAIL_RECIPIENTS_PER_DAY"
    assert problem["limit"] == QUOTA
    tomorrow = datetime.now(UTC).date() + timedelta(days=1)
    assert problem["resets_at"] == f"{tomorrow.isoformat()}T00:00:00+00:00"
    assert "EMAIL_RECIPIENTS_PER_DAY" in problem["detail"]
    assert 0 < int(refused.headers["retry-after"]) <= 86_400
    fits = await _send(client, alice, campaign, ["c@example.com"])
    assert fits.status_code == 202  # what is left of the quota is still usable


async def test_one_click_unsubscribe_suppresses_the_address_for_later_sends(
    client: Client, tokens: LocalKeyTokens, settings: Settings, memory_store: InMemoryStore
) -> None:
    alice = bearer(tokens, "alice")
    campaign = await _campaign(client, alice)
    started = await _send(client, alice, campaign, ["a@example.com"])
    assert (await finished_job(client, started.headers["location"], alice))["status"] == "succeeded"
    [path] = (settings.data_dir / "outbox").iterdir()
    sent = message_from_bytes(path.read_bytes(), policy=policy.default)
    link = str(sent["List-Unsubscribe"]).strip("<>")
    assert link.startswith("https://mail.example.com/unsubscribe/")
    route = link.removeprefix("https://mail.example.com")

    page = await client.get(route)  # no Authorization: the signed link is the proof
    assert page.status_code == 200
    assert "a@example.com" in page.text
    assert "List-Unsubscribe" in page.text  # the button posts the one-click body
    assert memory_store.email_suppressions == {}  # a GET (a link scanner) changes nothing

    done = await client.post(route, data={"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200, done.text
    assert ("alice", "a@example.com") in memory_store.email_suppressions

    again = await _send(client, alice, campaign, ["a@example.com", "b@example.com"])
    assert again.status_code == 202
    job = await finished_job(client, again.headers["location"], alice)
    assert job["result"]["skipped"] == ["a@example.com"]
    assert job["result"]["sent"] == 1


@pytest.mark.parametrize("token", ["nonsense", "eyJhIjoxfQ.AAAA", "x" * 2000])
async def test_a_forged_token_is_a_422_problem_naming_it(client: Client, token: str) -> None:
    for answer in (
        await client.get(f"/unsubscribe/{token}"),
        await client.post(f"/unsubscribe/{token}", data={"List-Unsubscribe": "One-Click"}),
    ):
        assert answer.status_code == 422, answer.text
        assert answer.json()["invalid-params"][0]["name"] == "token"


async def test_a_post_without_the_one_click_body_is_refused_naming_it(
    client: Client, container: Any
) -> None:
    token = container.unsubscribe_links().token("alice", "a@example.com")
    answer = await client.post(f"/unsubscribe/{token}", data={"other": "x"})
    assert answer.status_code == 422
    assert answer.json()["invalid-params"][0]["name"] == "List-Unsubscribe"
