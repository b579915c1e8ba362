"""One request id from the click to the inbox: request, job row, worker log lines, email."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from email import message_from_bytes, policy
from uuid import uuid4

import structlog
from litestar import Litestar
from litestar.testing import AsyncTestClient
from structlog.testing import capture_logs

from market_ai.adapters.auth.local_key import LocalKeyTokens
from market_ai.container import Container
from market_ai.domain.jobs import Job, JobStatus
from market_ai.domain.request_ids import current_request_id, request_id_bound
from market_ai.entrypoints.worker.observer import JobLogContext
from market_ai.settings import Settings
from tests.conftest import bearer
from tests.job_rig import eventually

Client = AsyncTestClient[Litestar]


async def test_the_request_id_rides_from_the_request_to_the_job_and_the_email(
    client: Client, tokens: LocalKeyTokens, settings: Settings
) -> None:
    alice = {**bearer(tokens, "alice"), "X-Request-ID": "click-42"}
    created = await client.post(
        "/api/campaigns", json={"name": "Launch", "channel": "email"}, headers=alice
    )
    email = {"to": ["ops@example.com"], "subject": "Weekly", "body": "Hi.\n"}
    started = await client.post(
        f"/api/campaigns/{created.json()['id']}/emails", json=email, headers=alice
    )
    assert started.status_code == 202, started.text
    location = started.headers["location"]

    async def sent() -> bool:
        return bool((await client.get(location, headers=alice)).json()["status"] == "succeeded")

    await eventually(sent)
    job = (await client.get(location, headers=bearer(tokens, "alice"))).json()
    assert job["request_id"] == "click-42"  # stored on the row, shown on GET /api/jobs/{id}
    [eml] = (settings.data_dir / "outbox").iterdir()
    message = message_from_bytes(eml.read_bytes(), policy=policy.default)
    assert message["X-Request-ID"] == "click-42"


async def test_a_request_without_an_id_gives_its_job_the_generated_one(
    client: Client, tokens: LocalKeyTokens
) -> None:
    alice = bearer(tokens, "alice")
    created = await client.post(
        "/api/campaigns", json={"name": "Launch", "channel": "email"}, headers=alice
    )
    started = await client.post(f"/api/campaigns/{created.json()['id']}/analysis", headers=alice)
    job = (await client.get(started.headers["location"], headers=alice)).json()
    assert job["request_id"] == started.headers["x-request-id"]


async def test_jobs_enqueued_outside_any_request_have_none(container: Container) -> None:
    job = await container.job_service().submit("alice", "noop")
    assert job.request_id is None
    with request_id_bound("cli-7"):
        bound = await container.job_service().submit("alice", "noop")
    assert bound.request_id == "cli-7"


def _job(request_id: str | None) -> Job:
    now = datetime.now(UTC)
    return Job(
        id=uuid4(),
        owner_id="alice",
        type="send_email",
        payload={},
        status=JobStatus.RUNNING,
        attempt=1,
        max_attempts=5,
        created_at=now,
        run_after=now,
        request_id=request_id,
    )


async def test_every_line_a_running_job_logs_carries_its_request_id() -> None:
    job = _job("click-42")

    async def attempt() -> None:  # what the worker runs per delivery: a task of its own
        JobLogContext().started(job)
        await asyncio.create_task(handler())  # the executor runs the handler in a child task
        structlog.get_logger("worker").info("job.after")

    async def handler() -> None:
        assert current_request_id() == "click-42"  # jobs it enqueues inherit the id
        structlog.get_logger("handler").info("job.inside")

    with capture_logs(processors=[structlog.contextvars.merge_contextvars]) as events:
        await asyncio.create_task(attempt())
        structlog.get_logger("elsewhere").info("not.a.job")
    by_event = {e["event"]: e for e in events}
    for name in ("job.inside", "job.after"):
        assert by_event[name]["request_id"] == "click-42"
        assert by_event[name]["job_id"] == str(job.id)
        assert by_event[name]["job_type"] == "send_email"
    assert "request_id" not in by_event["not.a.job"]  # the binding ended with the job's task
    assert current_request_id() is None
