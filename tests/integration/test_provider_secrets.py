"""A gateway that echoes the API key: the job record and the worker log never hold it.

The real openai client talks to a loopback server whose error bodies quote the request's
Authorization header; the job runs through the executor as a worker runs it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from market_ai.adapters.openai.generator import OpenAIContentGenerator, create_client
from market_ai.container import build_container
from market_ai.domain.content import ContentRequest
from market_ai.domain.job_execution import JobExecutor, Outcome
from market_ai.domain.job_registry import GENERATE_CONTENT
from market_ai.domain.jobs import ERROR_MAX, JobContext, JobStatus
from market_ai.domain.redaction import SecretRedactor
from market_ai.entrypoints.worker import build_worker
from market_ai.secret_values import secret_values
from tests.conftest import make_settings
from tests.content_rig import OWNER, make_rig
from tests.job_rig import Rig
from tests.openai_server import OpenAIServer, Reply

pytestmark = pytest.mark.integration
KEY = "sk-proj-Secret0123456789abcdefghijklmnopqrstuv"
SMTP_PASSWORD = "smtp-pa55word"


@pytest.fixture
def server() -> Iterator[OpenAIServer]:
    running = OpenAIServer()
    running.start()
    yield running
    running.stop()


def executor(jobs: Rig, tmp_path: Path) -> JobExecutor:
    settings = make_settings(
        tmp_path, openai_api_key=KEY, smtp_url=f"smtp://mailer:{SMTP_PASSWORD}@10.0.0.7:587"
    )
    made = jobs.executor()
    made._redact = SecretRedactor(secret_values(settings))  # as build_worker does
    return made


@pytest.mark.parametrize(
    ("reply", "outcome", "stored"),
    [
        (Reply(status=401), Outcome.DEAD, "PermanentJobError: provider refused the key (401)"),
        (Reply(status=502), Outcome.RETRYING, "GenerationError: provider error (502)"),
    ],
)
async def test_an_echoed_key_reaches_neither_the_job_nor_the_log(  # noqa: PLR0913
    server: OpenAIServer,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    *,
    reply: Reply,
    outcome: Outcome,
    stored: str,
) -> None:
    reply.echo_key = True
    server.default = reply
    jobs = Rig(fake=False)
    generator = OpenAIContentGenerator(create_client(KEY, server.base_url, 0.5))
    content = make_rig(generator, uow=jobs.uow)
    jobs.registry.register(GENERATE_CONTENT, content.service.run)
    job = await content.service.request(
        OWNER, await content.campaign(), ContentRequest.of(kind="email")
    )
    await jobs.relay().relay_all()
    [delivery] = await jobs.queue.receive("w1", count=1, block_ms=0)

    with caplog.at_level("DEBUG"):
        assert await executor(jobs, tmp_path).handle(delivery) is outcome

    await generator.aclose()
    assert (await jobs.job(job.id)).last_error == stored  # was the provider's text, key and all
    assert KEY not in caplog.text
    assert f"scripted {reply.status} for Bearer ***" in caplog.text  # details, scrubbed


async def test_every_configured_secret_is_scrubbed_before_the_error_is_cut(
    tmp_path: Path,
) -> None:
    jobs = Rig()

    async def leaky(_ctx: JobContext) -> None:
        padding = "x" * (ERROR_MAX - 20)  # the key straddles the cut at ERROR_MAX
        raise RuntimeError(f"login {SMTP_PASSWORD} at 10.0.0.7 refused; {padding}{KEY}")

    jobs.registry.register("leaky", leaky)
    job = await jobs.service.submit(OWNER, "leaky")
    await jobs.relay().relay_all()
    [delivery] = await jobs.queue.receive("w1", count=1, block_ms=0)

    await executor(jobs, tmp_path).handle(delivery)

    failed = await jobs.job(job.id)
    assert failed.status is JobStatus.FAILED
    assert failed.last_error is not None
    assert failed.last_error.startswith("RuntimeError: login *** at 10.0.0.7 refused; x")
    assert SMTP_PASSWORD not in failed.last_error
    assert KEY[:8] not in failed.last_error  # no half key left by the cut either


def test_the_worker_masks_every_configured_secret(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path,
        openai_api_key=KEY,
        smtp_url=f"smtp://mailer:{SMTP_PASSWORD}@10.0.0.7:587",
        redis_url="redis://:redis%2Fpass@127.0.0.1:1/0",
    )
    redact = build_worker(build_container(settings))._executor._redact
    assert redact is not None
    leaked = f"{KEY} {SMTP_PASSWORD} redis/pass redis%2Fpass"
    assert redact(leaked) == "*** *** *** ***"
