"""Jobs over HTTP: owner-scoped polling, 202 answers, and the health reports' job figures."""

from __future__ import annotations

from uuid import uuid4

from litestar import Litestar
from litestar.testing import AsyncTestClient

from market_ai.adapters.auth.local_key import LocalKeyTokens
from market_ai.container import Container
from market_ai.domain.jobs import JobStatus
from market_ai.entrypoints.http.job_schemas import accepted
from tests.conftest import bearer
from tests.job_rig import eventually

Client = AsyncTestClient[Litestar]
JOB_FIELDS = {
    "id",
    "type",
    "status",
    "attempt",
    "max_attempts",
    "payload",
    "result",
    "last_error",
    "idempotency_key",
    "created_at",
    "started_at",
    "finished_at",
    "retry_at",
    "request_id",
}


async def test_the_owner_polls_a_job_until_the_embedded_worker_finishes_it(
    client: Client, container: Container, tokens: LocalKeyTokens
) -> None:
    job = await container.job_service().submit("alice", "noop", {"note": "hello"})
    headers = bearer(tokens, "alice")

    async def finished() -> bool:
        response = await client.get(f"/api/jobs/{job.id}", headers=headers)
        assert response.status_code == 200
        return bool(response.json()["status"] == "succeeded")

    await eventually(finished)
    body = (await client.get(f"/api/jobs/{job.id}", headers=headers)).json()
    assert set(body) == JOB_FIELDS  # leases and publication times stay inside
    assert body["attempt"] == 1
    assert body["payload"] == {"note": "hello"}
    assert body["result"] == {"job_id": str(job.id), "attempt": 1}


async def test_another_users_job_reads_as_404(
    client: Client, container: Container, tokens: LocalKeyTokens
) -> None:
    job = await container.job_service().submit("alice", "noop")
    for user, job_id in (("bob", job.id), ("alice", uuid4())):
        response = await client.get(f"/api/jobs/{job_id}", headers=bearer(tokens, user))
        assert response.status_code == 404
        assert response.json()["detail"] == "job not found"
    assert (await client.get(f"/api/jobs/{job.id}")).status_code == 401


async def test_work_that_starts_a_job_answers_202_with_a_location(container: Container) -> None:
    job = await container.job_service().submit("alice", "noop")
    response = accepted(job)
    assert response.status_code == 202
    assert response.headers["Location"] == f"/api/jobs/{job.id}"
    assert response.content.id == job.id
    assert response.content.status is JobStatus.QUEUED


async def test_detailed_health_reports_dependencies_jobs_and_the_host(
    client: Client, container: Container
) -> None:
    await container.job_service().submit("alice", "noop")
    response = await client.get("/health/detailed")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/health+json")
    body = response.json()
    assert set(body) == {"status", "checks", "jobs", "system"}
    assert body["status"] in {"pass", "warn"}
    assert body["checks"]["database"]["status"] == "pass"
    assert isinstance(body["checks"]["database"]["latency_ms"], float)
    jobs = body["jobs"]
    assert {
        "status",
        "latency_ms",
        "queued",
        "retrying",
        "running",
        "dead",
        "oldest_queued_age_seconds",
        "live_workers",
        "counters",
    } <= set(jobs)
    assert jobs["live_workers"] >= 1  # the embedded worker heartbeats
    assert {"cpu_percent", "memory_percent", "process_rss_bytes"} <= set(body["system"])


async def test_dead_jobs_turn_detailed_health_to_warn(client: Client, container: Container) -> None:
    job = await container.job_service().submit("alice", "noop")
    async with container.unit_of_work() as uow:
        now = container.clock().now()
        await uow.jobs.bury(job.id, "poison", now)
        await uow.commit()
    body = (await client.get("/health/detailed")).json()
    assert (body["status"], body["jobs"]["status"], body["jobs"]["dead"]) == ("warn", "warn", 1)
    ready = await client.get("/health/ready")
    assert ready.status_code == 200  # a dead job is no reason to stop serving
    assert set(ready.json()) == {"status", "checks"}  # connectivity only: no job figures


async def test_head_works_on_every_health_route(client: Client) -> None:
    for path in ("/health", "/health/ready", "/health/detailed"):
        response = await client.head(path)
        assert response.status_code == 200, path
        assert response.content == b""
