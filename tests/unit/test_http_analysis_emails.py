"""Analysis and email routes: 202 + Location, Idempotency-Key, field-named 4xx, tenant 404s."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

from litestar import Litestar
from litestar.testing import AsyncTestClient

from market_ai.adapters.auth.local_key import LocalKeyTokens
from market_ai.settings import Settings
from tests.conftest import bearer
from tests.job_rig import eventually

Client = AsyncTestClient[Litestar]


async def _campaign(client: Client, headers: dict[str, str]) -> str:
    today = datetime.now(UTC).date()
    body = {
        "name": "Spring launch",
        "channel": "search",
        "budget": "3000.00",
        "starts_on": (today - timedelta(days=9)).isoformat(),
        "ends_on": (today + timedelta(days=20)).isoformat(),
    }
    created = await client.post("/api/campaigns", json=body, headers=headers)
    assert created.status_code == 201, created.text
    campaign_id: str = created.json()["id"]
    rows = [
        {
            "date": (today - timedelta(days=n)).isoformat(),
            "impressions": 1000,
            "clicks": 20,
            "conversions": 2,
            "spend": "10.00",
            "revenue": "25.00",
        }
        for n in range(10)
    ]
    recorded = await client.post(
        f"/api/campaigns/{campaign_id}/metrics", json={"rows": rows}, headers=headers
    )
    assert recorded.status_code == 200, recorded.text
    return campaign_id


def _only_file(folder: Path) -> bytes:
    [path] = folder.iterdir()
    return path.read_bytes()


async def finished_job(client: Client, location: str, headers: dict[str, str]) -> dict[str, Any]:
    async def done() -> bool:
        status = (await client.get(location, headers=headers)).json()["status"]
        return bool(status in {"succeeded", "dead"})

    await eventually(done)
    job: dict[str, Any] = (await client.get(location, headers=headers)).json()
    return job


async def test_an_analysis_is_accepted_run_by_the_worker_and_read_back(
    client: Client, tokens: LocalKeyTokens
) -> None:
    alice = bearer(tokens, "alice")
    campaign_id = await _campaign(client, alice)
    path = f"/api/campaigns/{campaign_id}/analysis"
    assert (await client.get(path, headers=alice)).status_code == 404  # none yet
    started = await client.post(path, headers=alice)
    assert started.status_code == 202, started.text
    job_id = started.json()["id"]
    assert started.headers["location"] == f"/api/jobs/{job_id}"
    polled = (await client.get(started.headers["location"], headers=alice)).json()
    assert set(started.json()) == set(polled)  # the 202 body is the job resource itself
    assert started.json()["type"] == "analyze_campaign"
    job = await finished_job(client, started.headers["location"], alice)
    assert job["status"] == "succeeded", job
    assert job["result"]["pacing_status"] == "in_flight"

    answer = await client.get(path, headers=alice)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["job_id"] == job_id
    assert body["totals"]["spend"] == "100.00"
    assert body["kpis"]["roas"] == "2.5000"
    assert body["pacing"]["expected_spend"] == "1000.00"  # 3000 x 10 / 30
    assert body["pacing"]["pacing_percent"] == "10.00"
    week = body["trend"]["week_over_week"]
    assert (week["current_days"], week["previous_days"]) == (7, 3)  # coverage is shown
    assert week["spend"]["change_percent"] == "133.33"  # 70 against 30
    assert body["best_day"]["roas"] == "2.5000"
    assert body["summary_model"] == "offline"  # the embedded default summarises for free
    assert job["result"]["summary"] == body["summary"]  # the text, not whether there is one
    assert job["result"]["summary_model"] == "offline"
    assert body["summary"].startswith("Spring launch spent USD 100.00 and earned USD 250.00")
    assert "It is pacing at 10.00% of the USD 1000.00 expected by now" in body["summary"]


async def test_a_repeated_idempotency_key_returns_the_same_job(
    client: Client, tokens: LocalKeyTokens
) -> None:
    alice, bob = bearer(tokens, "alice"), bearer(tokens, "bob")
    campaign_id = await _campaign(client, alice)
    bobs_campaign = await _campaign(client, bob)
    email = {"to": ["ops@example.com"], "subject": "Weekly", "body": "Figures."}
    for path, body in (
        (f"/api/campaigns/{campaign_id}/analysis", None),
        (f"/api/campaigns/{campaign_id}/emails", email),
    ):
        keyed = {**alice, "Idempotency-Key": f"key-{path}"}
        first = await client.post(path, json=body, headers=keyed)
        again = await client.post(path, json=body, headers=keyed)
        assert (first.status_code, again.status_code) == (202, 202)
        assert again.json()["id"] == first.json()["id"]
        unkeyed = await client.post(path, json=body, headers=alice)
        assert unkeyed.json()["id"] != first.json()["id"]
        bobs = await client.post(
            path.replace(campaign_id, bobs_campaign),
            json=body,
            headers={**bob, "Idempotency-Key": f"key-{path}"},
        )
        assert bobs.status_code == 202
        assert bobs.json()["id"] != first.json()["id"]  # keys are per user


async def test_an_email_is_sent_once_into_the_outbox(
    client: Client, tokens: LocalKeyTokens, settings: Settings
) -> None:
    alice = bearer(tokens, "alice")
    campaign_id = await _campaign(client, alice)
    email = {"to": ["ops@example.com", "cfo@example.com"], "subject": "Weekly", "body": "Hi.\n"}
    started = await client.post(f"/api/campaigns/{campaign_id}/emails", json=email, headers=alice)
    assert started.status_code == 202, started.text
    job = await finished_job(client, started.headers["location"], alice)
    assert job["status"] == "succeeded", job
    job_id = started.json()["id"]
    ids = job["result"]["message_ids"]
    assert set(ids) == set(email["to"])
    assert all(mid.startswith(f"<{UUID(job_id).hex}.") for mid in ids.values())
    files = sorted((settings.data_dir / "outbox").iterdir())
    sent = [message_from_bytes(path.read_bytes(), policy=policy.default) for path in files]
    assert sorted((m["To"], m["Message-ID"]) for m in sent) == sorted(
        (address, ids[address]) for address in email["to"]
    )  # one message per recipient: nobody sees the others' addresses
    assert {m["Subject"] for m in sent} == {"Weekly"}
    assert all(m["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click" for m in sent)


async def _variant(client: Client, campaign_id: str, headers: dict[str, str]) -> dict[str, Any]:
    """One `email` variant written by the embedded (offline) generator."""
    started = await client.post(
        f"/api/campaigns/{campaign_id}/content", json={"kind": "email"}, headers=headers
    )
    assert started.status_code == 202, started.text
    job = await finished_job(client, started.headers["location"], headers)
    assert job["status"] == "succeeded", job
    listed = await client.get(f"/api/campaigns/{campaign_id}/content", headers=headers)
    [variant] = listed.json()
    assert variant["job_id"] == started.json()["id"]
    return dict(variant)


async def test_a_generated_variant_is_emailed_by_its_id(
    client: Client, tokens: LocalKeyTokens, settings: Settings
) -> None:
    alice = bearer(tokens, "alice")
    campaign_id = await _campaign(client, alice)
    variant = await _variant(client, campaign_id, alice)
    email = {"to": ["ops@example.com"], "subject": "Spring copy", "content_id": variant["id"]}

    started = await client.post(f"/api/campaigns/{campaign_id}/emails", json=email, headers=alice)

    assert started.status_code == 202, started.text
    job = await finished_job(client, started.headers["location"], alice)
    assert job["status"] == "succeeded", job
    sent = message_from_bytes(_only_file(settings.data_dir / "outbox"), policy=policy.default)
    assert sent["Subject"] == "Spring copy"
    assert isinstance(sent, EmailMessage)
    subject_line, body = variant["text"].split("\n\n", 1)
    assert subject_line.startswith("Subject: ")  # the copy's own subject line, kept out
    content = sent.get_content()
    assert content.startswith(body.rstrip())
    assert f"Unsubscribe: {sent['List-Unsubscribe'].strip('<>')}" in content
    assert "Spring launch" in body


async def test_content_that_is_not_this_campaigns_is_a_422_naming_content_id(
    client: Client, tokens: LocalKeyTokens, settings: Settings
) -> None:
    alice, bob = bearer(tokens, "alice"), bearer(tokens, "bob")
    campaign_id, other_campaign = await _campaign(client, alice), await _campaign(client, alice)
    bobs_campaign = await _campaign(client, bob)
    elsewhere = await _variant(client, other_campaign, alice)
    bobs = await _variant(client, bobs_campaign, bob)
    path = f"/api/campaigns/{campaign_id}/emails"
    for content_id in (str(uuid4()), elsewhere["id"], bobs["id"]):
        email = {"to": ["ops@example.com"], "subject": "s", "content_id": content_id}
        response = await client.post(path, json=email, headers=alice)
        assert response.status_code == 422, response.text
        problem = response.json()
        assert problem["invalid-params"][0]["name"] == "content_id"
        assert bobs["text"] not in response.text
    both = {"to": ["ops@example.com"], "subject": "s", "body": "b", "content_id": elsewhere["id"]}
    response = await client.post(path, json=both, headers=alice)
    assert response.status_code == 422
    assert not (settings.data_dir / "outbox").exists()


async def test_bad_emails_are_refused_naming_the_field(
    client: Client, tokens: LocalKeyTokens
) -> None:
    alice = bearer(tokens, "alice")
    path = f"/api/campaigns/{await _campaign(client, alice)}/emails"
    cases = [
        ({"to": ["ok@example.com", "not-an-address"], "subject": "s", "body": "b"}, "to[1]"),
        (
            {"to": ["ok@example.com"], "subject": "Hi\r\nBcc: all@example.com", "body": "b"},
            "subject",
        ),
        ({"to": [], "subject": "s", "body": "b"}, "to"),
        ({"to": ["ok@example.com"], "subject": "s"}, "body"),
    ]
    for body, field in cases:
        response = await client.post(path, json=body, headers=alice)
        assert response.status_code == 422, response.text
        assert response.json()["invalid-params"][0]["name"] == field
    wrong_type = await client.post(
        path, json={"to": "ok@example.com", "subject": "s"}, headers=alice
    )
    assert wrong_type.status_code == 400
    assert wrong_type.json()["invalid-params"][0]["name"] == "to"


async def test_another_users_campaign_is_404_everywhere(
    client: Client, tokens: LocalKeyTokens
) -> None:
    alice, mallory = bearer(tokens, "alice"), bearer(tokens, "mallory")
    campaign_id = await _campaign(client, alice)
    email = {"to": ["ops@example.com"], "subject": "s", "body": "b"}
    for method, suffix, body in (
        ("POST", "analysis", None),
        ("GET", "analysis", None),
        ("POST", "emails", email),
    ):
        url = f"/api/campaigns/{campaign_id}/{suffix}"
        response = await client.request(method, url, json=body, headers=mallory)
        assert response.status_code == 404, (method, suffix, response.text)
