"""Run in a child process by the Sentry test: an API request that fails and a job that dies.

Settings come from the environment (SENTRY_DSN points at the test's loopback receiver).
Also a JOB_HANDLER_MODULES module: `register(registry)` adds `explode`.
"""

from __future__ import annotations

import asyncio
import os
import sys

import sentry_sdk
from litestar.testing import AsyncTestClient

from market_ai import Campaign, CampaignDraft
from market_ai.adapters.auth.local_key import LocalKeyTokens
from market_ai.container import build_container
from market_ai.domain.campaign_service import CampaignService
from market_ai.domain.job_registry import JobRegistry, JobResult
from market_ai.domain.jobs import JobContext, PermanentJobError
from market_ai.domain.request_ids import request_id_bound
from market_ai.entrypoints.http.app import create_app
from market_ai.logging import configure_logging
from market_ai.observability.sentry import init_sentry
from market_ai.settings import load_settings


async def explode(ctx: JobContext) -> JobResult:
    key = os.environ["OPENAI_API_KEY"]
    raise PermanentJobError(f"job {ctx.job_id} gave up with key {key}")


def register(registry: JobRegistry) -> None:
    registry.register("explode", explode)


async def exploding_create(_: CampaignService, owner_id: str, draft: CampaignDraft) -> Campaign:
    """A bug whose message holds a secret and a bearer token (the body stays out of it)."""
    key = os.environ["OPENAI_API_KEY"]
    raise RuntimeError(f"{owner_id} hit a bug ({len(draft.name)}); key {key}, {sys.argv[1]}")


async def main() -> None:
    settings = load_settings()
    configure_logging("INFO", json=True)
    init_sentry(settings, component="probe")
    container = build_container(settings)
    CampaignService.create = exploding_create  # type: ignore[method-assign,assignment]
    token = LocalKeyTokens(settings.data_dir).issue("alice")
    headers = {"Authorization": f"Bearer {token}", "X-Request-ID": "click-99"}
    async with AsyncTestClient(create_app(container)) as client:
        body = {"name": "BODY-MARKER alice@example.com", "channel": "email"}
        failed = await client.post("/api/campaigns", json=body, headers=headers)
        assert failed.status_code == 500, failed.text
        with request_id_bound("click-77"):
            job = await container.job_service().submit("alice", "explode")
        for _ in range(500):
            if (await container.job_service().get("alice", job.id)).status == "dead":
                break
            await asyncio.sleep(0.01)
    sentry_sdk.flush(timeout=10)


if __name__ == "__main__":
    asyncio.run(main())
